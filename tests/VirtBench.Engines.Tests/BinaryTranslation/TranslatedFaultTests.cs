using Iced.Intel;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests.BinaryTranslation;

/// <summary>
/// A fault inside translated code reaches the guest as the bare machine raises it: at the guest instruction's EIP,
/// with the guest's registers (a register an in-TC sequence borrowed is back), whether the instruction was copied,
/// rewritten into a sequence (popfd, ret, indirect call and jump) or emulated by a callout. Hand-written kernels print
/// what their handler sees; random kernel code ends exactly as it does under trap-and-emulate on the Popek-Goldberg CPU.
/// </summary>
public class TranslatedFaultTests
{
    /// <summary>Paging with page 0x81000 not present: a stack at 0x81000 has its top just below a hole.</summary>
    private const uint Hole = 0x81000, Unmapped = 0x0050_0000;

    public static TheoryData<string> Cases => ["ident-load", "ident-divide", "popfd", "ret", "ret-imm", "call-memory", "jmp-memory", "lgdt-callout", "segment-load"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_fault_reaches_the_guest_at_its_instruction_with_its_registers(string which)
    {
        var image = BareKernel.Build($"fault-{which}", (a, _) =>
        {
            BareKernel.EnablePaging(a, more => more.mov(__dword_ptr[BareKernel.Table0 + (Hole >> 12) * 4], 0));
            a.mov(ecx, 0x1234_5678u);
            a.mov(ebx, 7u);
            a.inc(ebx);                                  // an innocuous instruction before, in the same unit
            switch (which)
            {
                case "ident-load": a.mov(eax, __dword_ptr[Unmapped]); break;
                case "ident-divide": a.xor(edx, edx); a.mov(eax, 1u); a.div(edx); break;
                case "popfd": a.mov(esp, Hole); a.popfd(); break;
                case "ret": a.mov(esp, Hole); a.ret(); break;
                case "ret-imm": a.mov(esp, Hole); a.ret(8); break;
                case "call-memory": a.call(__dword_ptr[Unmapped + 4]); break;
                case "jmp-memory": a.jmp(__dword_ptr[ebx * 4 + Unmapped]); break;
                case "lgdt-callout": a.lgdt(__[Unmapped + 8]); break;
                case "segment-load": a.mov(eax, 0x38u); a.mov(ds, ax); break;
            }
        }, reportEcx: true);
        var native = EngineCatalog.Get("native").Run(image, EngineFixtures.Options);
        var run = EngineCatalog.Get("binary-translation").Run(image, EngineFixtures.Options);

        Assert.Matches("^vector=[0-9a-f]{8} error=[0-9a-f]{8} cr2=[0-9a-f]{8} eip=[0-9a-f]{8} ecx=12345678\n$", native.UartOutput);
        Assert.Equal(native.UartOutput, run.UartOutput);
        Assert.Equal(0ul, run.Total.Instructions(ExecutionMode.Ring0) + run.Total.Instructions(ExecutionMode.Ring1));
    }

    [Theory]
    [InlineData(1, 60)]
    [InlineData(61, 120)]
    public void Random_kernel_code_ends_as_under_trap_and_emulate_on_the_Popek_Goldberg_cpu(int first, int last)
    {
        // Both engines share the VMM core, so what the guest sees must match exactly; only the instruction budget,
        // which translated code spends faster, can end a run earlier.
        for (int seed = first; seed <= last; seed++)
        {
            var random = new Random(seed);
            var code = new byte[2048];
            random.NextBytes(code);
            bool paging = seed % 2 == 0;
            var image = BareKernel.Build($"random-{seed}", (a, _) =>
            {
                if (paging) BareKernel.EnablePaging(a);
                a.db(code);
            });
            var options = new RunOptions { Machine = new MachineOptions { InstructionBudget = 400_000 } };
            var reference = EngineCatalog.Get("trap-emulate-pg").Run(image, options);
            var run = EngineCatalog.Get("binary-translation").Run(image, options);

            Assert.False(run.Outcome.Kind == OutcomeKind.EngineStop && run.Outcome.Message.StartsWith("VMM error", StringComparison.Ordinal), $"seed {seed}: {run.Outcome}");
            if (reference.Outcome.Kind == OutcomeKind.BudgetExhausted || run.Outcome.Kind == OutcomeKind.BudgetExhausted) continue;
            Assert.True(reference.UartOutput == run.UartOutput && reference.Outcome.Kind == run.Outcome.Kind,
                $"seed {seed}: trap-and-emulate {reference.Outcome} '{reference.UartOutput}', binary translation {run.Outcome} '{run.UartOutput}'");
        }
    }
}
