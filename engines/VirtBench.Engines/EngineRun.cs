using VirtBench.Machine;

namespace VirtBench.Engines;

/// <summary>What one engine run produced: outcome, guest output, exact counts and host time.</summary>
public sealed record EngineRun
{
    /// <summary>The engine's name.</summary>
    public required string Engine { get; init; }

    /// <summary>The image's name.</summary>
    public required string Image { get; init; }

    /// <summary>How the run ended.</summary>
    public required RunOutcome Outcome { get; init; }

    /// <summary>Everything the guest wrote to COM1.</summary>
    public required string UartOutput { get; init; }

    /// <summary>Counts for the whole run, boot included.</summary>
    public required Counters Total { get; init; }

    /// <summary>Counts inside the measured region(s) marked on the bench port, or null if none was closed.</summary>
    public Counters? Measured { get; init; }

    /// <summary>Operations the guest declared for its measured region(s).</summary>
    public ulong Operations { get; init; }

    /// <summary>Host wall-clock time of the run (a property of the simulator, not of the technique).</summary>
    public TimeSpan HostTime { get; init; }

    /// <summary>Virtualization holes the engine passed over (trap-and-emulate on real x86), by guest address.</summary>
    public IReadOnlyList<VirtualizationHole> Holes { get; init; } = [];
}
