using VirtBench.Machine.Tests.Guest;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Robustness;

/// <summary>
/// Random bytes as guest code, in ring 0 and in ring 3, under an instruction budget: every run ends in a guest
/// exception (the kernel exits with its vector), a triple fault, a halt or the budget; never in a host exception.
/// Nothing here catches exceptions: one escaping the machine fails the test.
/// </summary>
public class RandomCodeTests(ITestOutputHelper output)
{
    private const int Strings = 1000, MaxLength = 256;

    /// <summary>The kernel's setup (page tables, copying the code) retires about 11,000 instructions of this.</summary>
    private const ulong Budget = 40_000;

    /// <summary>
    /// A kernel (paging on, the kernel's pages supervisor-only for the ring-3 case) that runs the bytes at label
    /// "random": in ring 0 where they are, in ring 3 after copying them to <see cref="KernelLayout.UserCode"/>.
    /// Registers start with fixed values; after the random area come ud2 instructions.
    /// </summary>
    private static (AssembledGuest Guest, int Offset) Build(bool ring3)
    {
        Iced.Intel.Label random = default;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            var p = k.Program;
            random = p.CreateLabel("random");
            if (ring3)
            {
                a.mov(edi, PteAddress(Platform.KernelLoadAddress));
                a.mov(ecx, (UserCode - Platform.KernelLoadAddress) / 0x1000);
                var protect = a.CreateLabel();
                a.Label(ref protect);
                a.and(__dword_ptr[edi], unchecked((int)~User));
                a.add(edi, 4);
                a.dec(ecx);
                a.jnz(protect);
                a.mov(esi, p.Address(random));
                a.mov(edi, UserCode);
                a.mov(ecx, (uint)(MaxLength + 16) / 4);
                var copy = a.CreateLabel();
                a.Label(ref copy);
                a.mov(eax, __dword_ptr[esi]);
                a.mov(__dword_ptr[edi], eax);
                a.add(esi, 4);
                a.add(edi, 4);
                a.dec(ecx);
                a.jnz(copy);
                a.mov(eax, PageDirectory);
                a.mov(cr3, eax);
            }
            Iced.Intel.AssemblerRegister32[] registers = [eax, ecx, edx, ebx, ebp, esi, edi];
            foreach (var (register, value) in registers.Zip(new uint[] { 0, 1, 0x8000_0000, Scratch, Scratch + 0x100, Scratch + 0x200, 0xFFFF_FFFF }))
                a.mov(register, value);
            if (ring3) k.EnterUserMode(UserCode, UserStackTop, eflags: 0x202);
            else a.jmp(random);
            p.Place(ref random);
            a.db(new byte[MaxLength]);
            for (int i = 0; i < 8; i++) a.ud2();
        }, new KernelOptions { Paging = true, OnException = ExceptionAction.ExitWithVector }, ring3 ? "random-ring3" : "random-ring0");
        return (guest, (int)(guest.Address(random) - Platform.KernelLoadAddress));
    }

    /// <summary>Runs each random string; returns the outcome kinds and, for kernel exits, the vectors seen.</summary>
    private (Dictionary<OutcomeKind, int> Kinds, HashSet<int> Vectors) RunAll(bool ring3)
    {
        var (guest, offset) = Build(ring3);
        var kinds = new Dictionary<OutcomeKind, int>();
        var vectors = new HashSet<int>();
        for (int s = 0; s < Strings; s++)
        {
            var rng = new Random(s);
            var bytes = (byte[])guest.Image.Bytes.Clone();
            rng.NextBytes(bytes.AsSpan(offset, rng.Next(1, MaxLength + 1)));
            var image = new GuestImage(bytes, $"{guest.Image.Name} #{s}");
            RunOutcome outcome;
            try
            {
                var pc = new Pc(image, new MachineOptions { RamBytes = 4u << 20, InstructionBudget = Budget });
                outcome = pc.Run();
            }
            catch (Exception) when (Report(s, ring3))
            {
                throw; // not reached: Report returns false, so the exception is never caught
            }
            Assert.True(outcome.Kind is OutcomeKind.DebugExit or OutcomeKind.TripleFault or OutcomeKind.Halted or OutcomeKind.BudgetExhausted,
                $"string {s}: {outcome}");
            Assert.DoesNotContain('\n', outcome.Message);
            kinds[outcome.Kind] = kinds.GetValueOrDefault(outcome.Kind) + 1;
            if (outcome.Kind == OutcomeKind.DebugExit) vectors.Add((outcome.ExitStatus - 1) / 2 & 0x7F);
        }
        output.WriteLine($"{(ring3 ? "ring 3" : "ring 0")}: {string.Join(", ", kinds.Select(k => $"{k.Key} {k.Value}"))}; vectors {string.Join(' ', vectors.Order())}");
        return (kinds, vectors);
    }

    private bool Report(int s, bool ring3)
    {
        output.WriteLine($"host exception on random string {s} (seed {s}) in ring {(ring3 ? 3 : 0)}");
        return false;
    }

    [Fact]
    public void RingZeroRandomCodeEndsCleanly()
    {
        var (kinds, vectors) = RunAll(ring3: false);
        Assert.True(kinds.GetValueOrDefault(OutcomeKind.DebugExit) > Strings / 2, "most strings should end in a reported guest exception");
        Assert.Contains(Cpu.Vectors.UD, vectors);
    }

    [Fact]
    public void RingThreeRandomCodeEndsCleanly()
    {
        var (kinds, vectors) = RunAll(ring3: true);
        Assert.True(kinds.GetValueOrDefault(OutcomeKind.DebugExit) > Strings / 2, "most strings should end in a reported guest exception");
        Assert.Superset(new HashSet<int> { Cpu.Vectors.UD, Cpu.Vectors.GP, Cpu.Vectors.PF }, vectors);
    }
}
