namespace VirtBench.Reports.HostSpeed;

/// <summary>One timed size of an image: its iteration count, operations, guest instructions and host time.</summary>
/// <param name="Iterations">Iterations the image was built with.</param>
/// <param name="Ops">Operations in the run (the guest's measured region; a speed loop's iterations).</param>
/// <param name="GuestInstructions">Guest instructions retired in the whole run, boot included (counted by the native engine for QEMU).</param>
/// <param name="HostSeconds">Host wall-clock seconds of the whole run, boot included.</param>
public sealed record TimedSize(uint Iterations, ulong Ops, ulong GuestInstructions, double HostSeconds);

/// <summary>
/// The same image timed at two iteration counts. Boot, loading and start-up cost the same at both sizes, so the
/// differences give the speed of the work alone: host time per operation and guest instructions per host second.
/// </summary>
/// <param name="Small">The smaller size (N iterations).</param>
/// <param name="Large">The larger size (typically 2N).</param>
public sealed record TwoSizeTiming(TimedSize Small, TimedSize Large)
{
    /// <summary>Host nanoseconds per operation, boot excluded; null when the larger run was not measurably slower.</summary>
    public double? HostNanosecondsPerOp =>
        Large.Ops > Small.Ops && ExtraSeconds > 0 ? ExtraSeconds * 1e9 / (Large.Ops - Small.Ops) : null;

    /// <summary>Guest instructions per host second, boot excluded; null when the larger run was not measurably slower.</summary>
    public double? GuestInstructionsPerSecond =>
        Large.GuestInstructions > Small.GuestInstructions && ExtraSeconds > 0
            ? (Large.GuestInstructions - Small.GuestInstructions) / ExtraSeconds
            : null;

    private double ExtraSeconds => Large.HostSeconds - Small.HostSeconds;
}
