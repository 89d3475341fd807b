using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// The VMCS controls the VMM launches its guest with, gathered before they are written (each field once): the
/// shared VMM's choices, to which the memory-virtualization strategy adds its own.
/// </summary>
internal sealed class VmxSetup
{
    /// <summary>Pin-based controls.</summary>
    public PinBasedControls Pin { get; set; }

    /// <summary>Primary processor-based controls.</summary>
    public ProcessorBasedControls Processor { get; set; }

    /// <summary>Secondary processor-based controls.</summary>
    public SecondaryControls Secondary { get; set; }

    /// <summary>Exceptions that exit.</summary>
    public uint ExceptionBitmap { get; set; }

    /// <summary>CR0 bits the VMM owns (the guest reads them from the read shadow; changing them exits).</summary>
    public uint Cr0Owned { get; set; }

    /// <summary>CR4 bits the VMM owns.</summary>
    public uint Cr4Owned { get; set; }

    /// <summary>The EPT pointer (with <see cref="SecondaryControls.EnableEpt"/>).</summary>
    public uint EptPointer { get; set; }
}
