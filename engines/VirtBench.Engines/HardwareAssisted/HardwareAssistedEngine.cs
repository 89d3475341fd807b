using VirtBench.Machine;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// VT-x-style hardware assistance (DESIGN.md section 6): the unmodified native kernel runs at its own ring 0 in
/// VMX non-root mode under the shared <see cref="VmxMonitor"/>; the engines differ only in how they virtualize
/// memory (<see cref="IMemoryVirtualization"/>).
/// </summary>
public abstract class HardwareAssistedEngine : IEngine
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract string Description { get; }

    /// <inheritdoc />
    public KernelFlavor Flavor => KernelFlavor.Native;

    private protected abstract IMemoryVirtualization CreateMemoryVirtualization();

    /// <inheritdoc />
    public EngineRun Run(GuestImage image, RunOptions options)
    {
        var memory = CreateMemoryVirtualization();
        var pc = MachineRun.Create(this, image, options, VmxMonitor.VmmBytes(memory, options.Machine.RamBytes));
        new VmxMonitor(pc, memory).Launch();
        return MachineRun.Collect(this, pc, pc.Run());
    }
}
