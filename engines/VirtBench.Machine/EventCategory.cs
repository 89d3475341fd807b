namespace VirtBench.Machine;

/// <summary>The groups that charts stack cycles by (DESIGN.md section 7).</summary>
public enum EventCategory
{
    /// <summary>Guest instructions, priced per mnemonic, and native exception/interrupt delivery.</summary>
    GuestExecution,

    /// <summary>Decode-and-dispatch of an interpreter (full emulation).</summary>
    Interpretation,

    /// <summary>TLB misses, page-walk references (one- and two-dimensional) and flushes.</summary>
    Tlb,

    /// <summary>Traps into the VMM and instruction emulation.</summary>
    TrapsAndEmulation,

    /// <summary>Exceptions, interrupts and system calls delivered virtually into the guest kernel.</summary>
    VirtualDelivery,

    /// <summary>Hidden faults, tracing faults, shadow updates and switches.</summary>
    ShadowPaging,

    /// <summary>The binary translator: translation, in-TC emulation, callouts, lookups, chaining.</summary>
    BinaryTranslation,

    /// <summary>Paravirtual hypercalls, batches, bounces and upcalls.</summary>
    Hypercalls,

    /// <summary>VM exits by reason (hardware-assisted).</summary>
    VmExits,

    /// <summary>VM entries, VMCS accesses and interrupt injection (hardware-assisted).</summary>
    VmEntriesAndVmcs,

    /// <summary>Emulated devices and paravirtual I/O rings.</summary>
    DeviceEmulation,
}
