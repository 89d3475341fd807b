using VirtBench.Machine;

namespace VirtBench.Workloads.Tests.Runners;

/// <summary>
/// Something that boots a guest image and reports its console output and exit status: QEMU now, the engines
/// later. Behaviour tests are written once against this and run on every runner.
/// </summary>
public abstract class GuestRunner
{
    /// <summary>A name for messages.</summary>
    public abstract string Name { get; }

    /// <summary>Why this runner cannot run here (tests are skipped with this reason), or null.</summary>
    public abstract string? UnavailableReason { get; }

    /// <summary>The kernel flavor images for this runner must be built with.</summary>
    public virtual KernelFlavor Flavor => KernelFlavor.Native;

    /// <summary>Boots the image to its end.</summary>
    public abstract GuestRunResult Run(GuestImage image);

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>The end of a guest run.</summary>
/// <param name="Output">Everything the guest wrote to COM1 (CR removed).</param>
/// <param name="ExitStatus">isa-debug-exit status as QEMU reports it (value*2+1), or -1 if the guest never wrote it.</param>
/// <param name="Diagnostics">What to show when a test fails (runner messages).</param>
public sealed record GuestRunResult(string Output, int ExitStatus, string Diagnostics)
{
    /// <summary>The guest exited through isa-debug-exit with value 0.</summary>
    public bool Succeeded => ExitStatus == 1;

    /// <summary>The output split into lines.</summary>
    public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>A description for assertion messages.</summary>
    public string Describe() => $"exit status {ExitStatus}; {Diagnostics}\n--- output ---\n{Output}";
}
