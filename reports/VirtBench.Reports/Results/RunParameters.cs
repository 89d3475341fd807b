namespace VirtBench.Reports.Results;

/// <summary>The parameters of a suite run, recorded so that anyone can reproduce it.</summary>
public sealed record RunParameters
{
    /// <summary>Engines run, in report order.</summary>
    public required IReadOnlyList<string> Engines { get; init; }

    /// <summary>Workloads run, in report order.</summary>
    public required IReadOnlyList<string> Workloads { get; init; }

    /// <summary>Factor applied to each workload's default iteration count.</summary>
    public double IterationScale { get; init; } = 1;

    /// <summary>TLB entries of the simulated machine.</summary>
    public int TlbEntries { get; init; }

    /// <summary>Guest RAM in bytes.</summary>
    public uint RamBytes { get; init; }

    /// <summary>Retired-instruction budget per run.</summary>
    public ulong InstructionBudget { get; init; }

    /// <summary>Binary translation's adaptive retranslation switch.</summary>
    public bool AdaptiveTranslation { get; init; } = true;

    /// <summary>Pairs run in parallel.</summary>
    public int Jobs { get; init; } = 1;
}
