using VirtBench.Engines;

namespace VirtBench.Reports.Suite;

/// <summary>What a suite run runs: engines x workloads, at an iteration scale, on a machine configuration.</summary>
public sealed record SuiteOptions
{
    /// <summary>Engines, in report order (include <c>native</c> for overheads and divergence).</summary>
    public required IReadOnlyList<IEngine> Engines { get; init; }

    /// <summary>Workloads, in report order.</summary>
    public required IReadOnlyList<WorkloadSpec> Workloads { get; init; }

    /// <summary>Factor applied to every workload's default iteration count.</summary>
    public double IterationScale { get; init; } = 1;

    /// <summary>Engine-workload pairs run at once.</summary>
    public int Jobs { get; init; } = Environment.ProcessorCount;

    /// <summary>Options passed to every engine run (machine size, TLB, budget, adaptive translation).</summary>
    public RunOptions Run { get; init; } = new();
}
