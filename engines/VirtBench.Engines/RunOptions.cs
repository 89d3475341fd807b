using VirtBench.Machine;

namespace VirtBench.Engines;

/// <summary>Options for one engine run.</summary>
public sealed record RunOptions
{
    /// <summary>The simulated machine (RAM, budget, TLB size).</summary>
    public MachineOptions Machine { get; init; } = new();

    /// <summary>Binary translation: retranslate instructions that keep faulting on traced page tables.</summary>
    public bool AdaptiveTranslation { get; init; } = true;
}
