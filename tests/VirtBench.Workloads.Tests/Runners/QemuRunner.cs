using VirtBench.Engines.Peers;
using VirtBench.Machine;

namespace VirtBench.Workloads.Tests.Runners;

/// <summary>Runs images in qemu-system-i386 (TCG), the external oracle.</summary>
public sealed class QemuRunner : GuestRunner
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    public override string Name => "qemu";

    /// <inheritdoc />
    public override string? UnavailableReason => Qemu.UnavailableReason();

    /// <inheritdoc />
    public override GuestRunResult Run(GuestImage image)
    {
        var run = Qemu.Run(image, Timeout);
        string diagnostics = run.TimedOut ? $"QEMU timed out after {Timeout.TotalSeconds} s" : $"QEMU stderr: {run.StandardError.Trim()}";
        return new GuestRunResult(run.SerialOutput, run.TimedOut ? -1 : run.ExitStatus, diagnostics);
    }
}
