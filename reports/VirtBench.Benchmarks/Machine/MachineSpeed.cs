using BenchmarkDotNet.Attributes;
using VirtBench.Machine;

namespace VirtBench.Benchmarks.Machine;

/// <summary>
/// Guest instructions per host second of the simulated CPU on its two reference loops. Each operation is
/// one guest instruction (OperationsPerInvoke), so BenchmarkDotNet's "Op/s" column is guest instructions
/// per second. Run: <c>virtbench bench --filter *MachineSpeed*</c>.
/// </summary>
[MemoryDiagnoser]
public class MachineSpeed
{
    /// <summary>Iterations of the dec/jnz loop per invocation.</summary>
    public const uint DecJnzIterations = 25_000_000;

    /// <summary>Iterations of the mixed loop per invocation.</summary>
    public const uint MixedIterations = 4_000_000;

    private GuestImage _decJnz = null!, _mixed = null!;
    private static readonly MachineOptions Options = new() { RamBytes = 8u << 20, InstructionBudget = ulong.MaxValue };

    /// <summary>Builds the images once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _decJnz = SpeedLoops.DecJnz(DecJnzIterations);
        _mixed = SpeedLoops.Mixed(MixedIterations);
    }

    /// <summary>(a) dec/jnz.</summary>
    [Benchmark(OperationsPerInvoke = (int)(DecJnzIterations * SpeedLoops.DecJnzInstructionsPerIteration))]
    public ulong DecJnzLoop() => Run(_decJnz);

    /// <summary>(b) loads, stores, ALU, call/ret.</summary>
    [Benchmark(OperationsPerInvoke = (int)(MixedIterations * SpeedLoops.MixedInstructionsPerIteration))]
    public ulong MixedLoop() => Run(_mixed);

    /// <summary>The loop (<see cref="SpeedLoops"/> name) a benchmark method of this class runs.</summary>
    public static string LoopOf(string method) => method switch
    {
        nameof(DecJnzLoop) => SpeedLoops.DecJnzName,
        nameof(MixedLoop) => SpeedLoops.MixedName,
        _ => throw new ArgumentException($"{method} is not a speed loop of {nameof(MachineSpeed)}", nameof(method)),
    };

    private static ulong Run(GuestImage image)
    {
        var pc = new Pc(image, Options);
        var outcome = pc.Run();
        if (!outcome.IsSuccess) throw new InvalidOperationException($"benchmark guest failed: {outcome}");
        return pc.Cpu.Retired;
    }
}
