using VirtBench.Engines;
using VirtBench.Machine;

namespace VirtBench.Reports.Results;

/// <summary>One engine running one workload: what happened, the measured region's exact counts, and its priced figures.</summary>
public sealed record PairResult
{
    /// <summary>The engine's name.</summary>
    public required string Engine { get; init; }

    /// <summary>The workload's name.</summary>
    public required string Workload { get; init; }

    /// <summary>The iteration count the image was built with.</summary>
    public required uint Iterations { get; init; }

    /// <summary>ok, diverged, budget or fault.</summary>
    public required RunStatus Status { get; init; }

    /// <summary>One line explaining the status (empty when ok).</summary>
    public string Message { get; init; } = "";

    /// <summary>How the run ended (<see cref="OutcomeKind"/> name), or "error" when the engine threw.</summary>
    public string Outcome { get; init; } = "";

    /// <summary>QEMU-style exit status of a debug exit (value*2+1), when the guest wrote one.</summary>
    public int? ExitStatus { get; init; }

    /// <summary>Operations the guest declared for its measured region.</summary>
    public ulong Ops { get; init; }

    /// <summary>"sha256:HEX" of the guest's UART output (Latin-1 bytes).</summary>
    public string OutputChecksum { get; init; } = "";

    /// <summary>Length of the UART output in characters.</summary>
    public int OutputLength { get; init; }

    /// <summary>Guest instructions retired inside the measured region.</summary>
    public ulong GuestInstructions => Measured?.TotalInstructions ?? 0;

    /// <summary>Guest instructions retired in the whole run, boot included.</summary>
    public ulong TotalGuestInstructions { get; init; }

    /// <summary>Host wall-clock seconds of the whole run (the simulator's speed, not the technique's).</summary>
    public double HostSeconds { get; init; }

    /// <summary>Counts inside the measured region, or null when the run closed none.</summary>
    public Counters? Measured { get; init; }

    /// <summary>Virtualization holes the engine passed over (trap-and-emulate on real x86).</summary>
    public IReadOnlyList<VirtualizationHole> Holes { get; init; } = [];

    /// <summary>Modeled figures under the results' profile, or null when the pair has no measured region or operations.</summary>
    public PricedFigures? Priced { get; init; }

    /// <summary>Guest instructions per host second over the whole run (host speed of the simulator).</summary>
    public double? GuestInstructionsPerHostSecond => HostSeconds > 0 ? TotalGuestInstructions / HostSeconds : null;
}
