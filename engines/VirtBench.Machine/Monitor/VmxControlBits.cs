namespace VirtBench.Machine.Monitor;

/// <summary>Pin-based VM-execution controls (VMCS field <see cref="VmcsField.PinBasedControls"/>), Intel's bit positions.</summary>
[Flags]
public enum PinBasedControls : uint
{
    /// <summary>No control set.</summary>
    None = 0,
    /// <summary>External interrupts exit (regardless of the guest's IF), instead of being delivered through the guest's IDT.</summary>
    ExternalInterruptExiting = 1u << 0,
}

/// <summary>Primary processor-based VM-execution controls (VMCS field <see cref="VmcsField.ProcessorBasedControls"/>).</summary>
[Flags]
public enum ProcessorBasedControls : uint
{
    /// <summary>No control set.</summary>
    None = 0,
    /// <summary>Exit before any instruction at which the guest can take an interrupt (IF = 1, no sti or mov-SS blocking).</summary>
    InterruptWindowExiting = 1u << 2,
    /// <summary>hlt exits.</summary>
    HltExiting = 1u << 7,
    /// <summary>invlpg exits.</summary>
    InvlpgExiting = 1u << 9,
    /// <summary>rdtsc exits.</summary>
    RdtscExiting = 1u << 12,
    /// <summary>mov to CR3 exits (this machine has no CR3-target list: every load exits).</summary>
    Cr3LoadExiting = 1u << 15,
    /// <summary>mov from CR3 exits.</summary>
    Cr3StoreExiting = 1u << 16,
    /// <summary>Every port access exits (ignored when <see cref="UseIoBitmaps"/> is set).</summary>
    UnconditionalIoExiting = 1u << 24,
    /// <summary>Port accesses exit as I/O bitmaps A and B say.</summary>
    UseIoBitmaps = 1u << 25,
    /// <summary>rdmsr/wrmsr exit as the MSR bitmap says (otherwise every MSR access exits).</summary>
    UseMsrBitmaps = 1u << 28,
    /// <summary>The secondary controls apply.</summary>
    ActivateSecondaryControls = 1u << 31,
}

/// <summary>Secondary processor-based VM-execution controls (VMCS field <see cref="VmcsField.SecondaryControls"/>).</summary>
[Flags]
public enum SecondaryControls : uint
{
    /// <summary>No control set.</summary>
    None = 0,
    /// <summary>Nested paging: guest-physical addresses translate through the tables at <see cref="VmcsField.EptPointer"/>.</summary>
    EnableEpt = 1u << 1,
    /// <summary>
    /// Translations are tagged with a virtual-processor identifier, so VM entries and exits keep the TLB.
    /// Without it every VM entry flushes the TLB, as on the first VT-x processors.
    /// </summary>
    EnableVpid = 1u << 5,
    /// <summary>The guest may run with CR0.PE or CR0.PG clear (requires EPT).</summary>
    UnrestrictedGuest = 1u << 7,
}

/// <summary>VM-exit controls (VMCS field <see cref="VmcsField.ExitControls"/>).</summary>
[Flags]
public enum ExitControls : uint
{
    /// <summary>No control set.</summary>
    None = 0,
    /// <summary>
    /// On an external-interrupt exit the CPU acknowledges the interrupt controller and reports the vector in the
    /// exit interruption information; otherwise the interrupt stays pending at the controller for the VMM.
    /// </summary>
    AcknowledgeInterruptOnExit = 1u << 15,
}
