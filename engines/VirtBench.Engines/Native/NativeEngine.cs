using VirtBench.Machine;

namespace VirtBench.Engines.Native;

/// <summary>
/// The baseline: the guest kernel runs at CPL 0 on the simulated CPU with no VMM. Every other engine's
/// overhead is relative to this one.
/// </summary>
public sealed class NativeEngine : IEngine
{
    /// <inheritdoc />
    public string Name => "native";

    /// <inheritdoc />
    public string Description => "bare metal: the guest kernel runs at ring 0 with no VMM (the baseline)";

    /// <inheritdoc />
    public KernelFlavor Flavor => KernelFlavor.Native;

    /// <inheritdoc />
    public EngineRun Run(GuestImage image, RunOptions options)
    {
        var pc = MachineRun.Create(this, image, options);
        return MachineRun.Collect(this, pc, pc.Run());
    }
}
