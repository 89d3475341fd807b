using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests.Paravirt;

/// <summary>A misbehaving paravirtual guest ends in a clean stop (a crashed domain, the budget), never a host exception.</summary>
public sealed class RobustnessTests
{
    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 12)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_bytes_as_the_kernel_end_cleanly(int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[4096];
        random.NextBytes(bytes);
        var outcome = TestDomain.Boot(k => k.A.db(bytes)).Run();
        Assert.Contains(outcome.Kind, new[] { OutcomeKind.EngineStop, OutcomeKind.BudgetExhausted, OutcomeKind.Halted, OutcomeKind.TripleFault });
    }

    /// <summary>Every call number up to 40 but iret and sched_op, which would end the run at once (tested elsewhere).</summary>
    private static readonly uint[] Numbers = [.. Enumerable.Range(0, 41).Select(n => (uint)n)
        .Where(n => n is not (ParavirtAbi.Hypercall.Iret or ParavirtAbi.Hypercall.SchedOp))];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_hypercalls_with_random_arguments_end_cleanly(int seed)
    {
        var random = new Random(seed);
        uint Argument() => random.Next(4) switch
        {
            0 => (uint)random.Next(0, 64),                                 // small numbers: commands, counts, ports
            1 => TestDomain.Arguments + (uint)random.Next(0, 256) * 4,     // pointers to readable guest memory
            2 => (uint)random.Next(0x100, 0x4000) << 12,                   // frames and machine addresses
            _ => (uint)random.NextInt64(0, 1L << 32),
        };
        // Drawn before emitting: the builder emits in several passes, each of which must produce the same code.
        var calls = Enumerable.Range(0, 300).Select(_ => (Slot: (uint)random.Next(0, 64), Stored: Argument(), Ebx: Argument(),
            Ecx: Argument(), Edx: Argument(), Esi: random.Next(2) == 0 ? ParavirtAbi.DomainSelf : Argument(), Edi: Argument(),
            Number: Numbers[random.Next(Numbers.Length)])).ToArray();
        var outcome = TestDomain.Boot(k =>
        {
            var a = k.A;
            foreach (var call in calls)
            {
                a.mov(__dword_ptr[TestDomain.Arguments + call.Slot * 4], call.Stored);
                a.mov(ebx, call.Ebx);
                a.mov(ecx, call.Ecx);
                a.mov(edx, call.Edx);
                a.mov(esi, call.Esi);
                a.mov(edi, call.Edi);
                a.mov(eax, call.Number);
                a.@int(ParavirtAbi.HypercallVector);
            }
            TestDomain.Finish(k, "survived\n");
        }).Run();
        Assert.Contains(outcome.Kind, new[] { OutcomeKind.EngineStop, OutcomeKind.BudgetExhausted, OutcomeKind.Halted, OutcomeKind.TripleFault });
    }
}
