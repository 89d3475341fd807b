namespace VirtBench.Machine;

/// <summary>
/// Every event an engine or the machine counts (DESIGN.md section 7). Engines count; cost profiles price
/// (by the member's name). Guest instructions are counted separately, per mnemonic and execution mode,
/// in <see cref="Counters"/>. Add a member here with its category when a technique needs a new event,
/// and price it in every shipped profile.
/// </summary>
public enum Event
{
    // ---- Guest execution (native delivery by the CPU itself) ----
    /// <summary>An exception (fault or trap) delivered by the CPU through the IDT.</summary>
    [Category(EventCategory.GuestExecution)] ExceptionDelivered,
    /// <summary>An external (PIC) interrupt delivered by the CPU through the IDT.</summary>
    [Category(EventCategory.GuestExecution)] InterruptDelivered,
    /// <summary>A software interrupt (<c>int n</c>) delivered by the CPU through the IDT.</summary>
    [Category(EventCategory.GuestExecution)] SoftwareInterruptDelivered,
    /// <summary>A privilege-level change on delivery (TSS stack switch).</summary>
    [Category(EventCategory.GuestExecution)] StackSwitch,
    /// <summary>Simulated time spent idle in <c>hlt</c>, in instruction-equivalents skipped.</summary>
    [Category(EventCategory.GuestExecution)] IdleInstructions,

    // ---- Full emulation ----
    /// <summary>An instruction fetched, decoded and dispatched by an interpreter (on top of executing it).</summary>
    [Category(EventCategory.Interpretation)] InterpretedInstruction,

    // ---- TLB ----
    /// <summary>A TLB lookup that missed and walked the page tables.</summary>
    [Category(EventCategory.Tlb)] TlbMiss,
    /// <summary>A memory reference made by a one-dimensional page walk (PDE and PTE reads, A/D updates).</summary>
    [Category(EventCategory.Tlb)] PageWalkReference,
    /// <summary>A whole-TLB flush (CR3 load, CR0/CR4 paging change).</summary>
    [Category(EventCategory.Tlb)] TlbFlush,
    /// <summary>A single-entry flush (<c>invlpg</c>).</summary>
    [Category(EventCategory.Tlb)] TlbFlushPage,
    /// <summary>A memory reference made by a two-dimensional (nested) walk beyond the guest's own references.</summary>
    [Category(EventCategory.Tlb)] NestedWalkReference,

    // ---- Traps into the VMM and instruction emulation ----
    /// <summary>A privileged instruction of the deprivileged guest faulted (#GP) into the VMM.</summary>
    [Category(EventCategory.TrapsAndEmulation)] TrapPrivilegedInstruction,
    /// <summary>A sensitive, unprivileged instruction trapped (only on the Popek-Goldberg CPU).</summary>
    [Category(EventCategory.TrapsAndEmulation)] TrapSensitiveInstruction,
    /// <summary>A page fault reached the VMM.</summary>
    [Category(EventCategory.TrapsAndEmulation)] TrapPageFault,
    /// <summary>Another guest exception reached the VMM.</summary>
    [Category(EventCategory.TrapsAndEmulation)] TrapException,
    /// <summary>A guest software interrupt (system call) reached the VMM.</summary>
    [Category(EventCategory.TrapsAndEmulation)] TrapSoftwareInterrupt,
    /// <summary>An external interrupt reached the VMM.</summary>
    [Category(EventCategory.TrapsAndEmulation)] TrapExternalInterrupt,
    /// <summary>An instruction emulated by the VMM on the virtual CPU (per mnemonic in <see cref="Counters"/>).</summary>
    [Category(EventCategory.TrapsAndEmulation)] InstructionEmulated,
    /// <summary>A sensitive instruction that executed without trapping and behaved differently (a virtualization hole).</summary>
    [Category(EventCategory.TrapsAndEmulation)] VirtualizationHole,

    // ---- Virtual delivery into the guest kernel ----
    /// <summary>A guest exception reflected into the guest kernel through its IDT.</summary>
    [Category(EventCategory.VirtualDelivery)] ReflectedException,
    /// <summary>A virtual interrupt delivered into the guest kernel through its IDT.</summary>
    [Category(EventCategory.VirtualDelivery)] ReflectedInterrupt,
    /// <summary>A guest system call reflected into the guest kernel through its IDT.</summary>
    [Category(EventCategory.VirtualDelivery)] ReflectedSystemCall,

    // ---- Shadow paging ----
    /// <summary>A page fault caused only by a missing shadow entry, filled by the VMM and never seen by the guest.</summary>
    [Category(EventCategory.ShadowPaging)] HiddenPageFault,
    /// <summary>A write to a traced (write-protected) guest page-table page.</summary>
    [Category(EventCategory.ShadowPaging)] TracingFault,
    /// <summary>A shadow entry written by the VMM to follow the guest's tables.</summary>
    [Category(EventCategory.ShadowPaging)] ShadowUpdate,
    /// <summary>A guest CR3 load that found a cached shadow for the new address space.</summary>
    [Category(EventCategory.ShadowPaging)] ShadowSwitch,
    /// <summary>A guest CR3 load that had to build a new shadow.</summary>
    [Category(EventCategory.ShadowPaging)] ShadowCreate,
    /// <summary>A shadow page table discarded (unshadowed or evicted).</summary>
    [Category(EventCategory.ShadowPaging)] ShadowDiscard,
    /// <summary>An accessed or dirty bit copied back to a guest page-table entry.</summary>
    [Category(EventCategory.ShadowPaging)] AccessedDirtyReflected,

    // ---- Binary translation ----
    /// <summary>A guest instruction translated.</summary>
    [Category(EventCategory.BinaryTranslation)] BtInstructionTranslated,
    /// <summary>A translation unit translated.</summary>
    [Category(EventCategory.BinaryTranslation)] BtUnitTranslated,
    /// <summary>A sensitive instruction emulated by a short in-translation-cache sequence.</summary>
    [Category(EventCategory.BinaryTranslation)] BtInTcEmulation,
    /// <summary>A callout from the translation cache into the VMM: control registers.</summary>
    [Category(EventCategory.BinaryTranslation)] BtCalloutControlRegister,
    /// <summary>A callout: descriptor tables and segment state (lgdt, lidt, ltr, ...).</summary>
    [Category(EventCategory.BinaryTranslation)] BtCalloutDescriptorTable,
    /// <summary>A callout: TLB maintenance (invlpg).</summary>
    [Category(EventCategory.BinaryTranslation)] BtCalloutTlb,
    /// <summary>A callout: port I/O.</summary>
    [Category(EventCategory.BinaryTranslation)] BtCalloutIo,
    /// <summary>A callout: iret, sysexit and other returns to the guest's user mode.</summary>
    [Category(EventCategory.BinaryTranslation)] BtCalloutReturn,
    /// <summary>A callout: hlt.</summary>
    [Category(EventCategory.BinaryTranslation)] BtCalloutHalt,
    /// <summary>A callout: anything else (cpuid, rdmsr, wrmsr, int, far transfers, an indirect-lookup miss, a held interrupt let in, ...).</summary>
    [Category(EventCategory.BinaryTranslation)] BtCalloutOther,
    /// <summary>A callout: a page-table write performed by an adaptive translation.</summary>
    [Category(EventCategory.BinaryTranslation)] BtCalloutPageTableWrite,
    /// <summary>An indirect jump, indirect call or return resolved through the guest-to-translation lookup (its in-TC instructions retire too).</summary>
    [Category(EventCategory.BinaryTranslation)] BtIndirectLookup,
    /// <summary>A direct branch patched to jump straight to its target's translation (after its first run called out).</summary>
    [Category(EventCategory.BinaryTranslation)] BtChainPatch,
    /// <summary>A translation invalidated because the guest wrote its source bytes (or mapped their page elsewhere).</summary>
    [Category(EventCategory.BinaryTranslation)] BtInvalidation,
    /// <summary>An instruction retranslated as a page-table-write callout (adaptive translation).</summary>
    [Category(EventCategory.BinaryTranslation)] BtAdaptiveRetranslation,
    /// <summary>Entry into the translation cache from the VMM (after a callout, fault or dispatch).</summary>
    [Category(EventCategory.BinaryTranslation)] BtDispatch,

    // ---- Hypercalls (paravirtualization) ----
    /// <summary>Hypercall: a batch of page-table updates (mmu_update).</summary>
    [Category(EventCategory.Hypercalls)] HypercallMmuUpdate,
    /// <summary>One page-table entry validated and written inside an mmu_update batch.</summary>
    [Category(EventCategory.Hypercalls)] HypercallMmuUpdateEntry,
    /// <summary>Hypercall: page-table base switch, TLB flushes (mmuext_op).</summary>
    [Category(EventCategory.Hypercalls)] HypercallMmuExtOp,
    /// <summary>Hypercall: trap table registration.</summary>
    [Category(EventCategory.Hypercalls)] HypercallSetTrapTable,
    /// <summary>Hypercall: kernel stack switch.</summary>
    [Category(EventCategory.Hypercalls)] HypercallStackSwitch,
    /// <summary>Hypercall: iret.</summary>
    [Category(EventCategory.Hypercalls)] HypercallIret,
    /// <summary>Hypercall: yield or block (sched_op).</summary>
    [Category(EventCategory.Hypercalls)] HypercallSchedOp,
    /// <summary>Hypercall: console write.</summary>
    [Category(EventCategory.Hypercalls)] HypercallConsole,
    /// <summary>Hypercall: event channel operation (notify a device ring, unmask).</summary>
    [Category(EventCategory.Hypercalls)] HypercallEventChannel,
    /// <summary>Hypercall: any other call.</summary>
    [Category(EventCategory.Hypercalls)] HypercallOther,
    /// <summary>
    /// A page-table entry checked by the hypervisor outside an mmu_update batch: when a page becomes a page table
    /// (pin, first reference from a directory or as the base) each present entry is validated, and when it stops
    /// being one each present entry's references are released.
    /// </summary>
    [Category(EventCategory.Hypercalls)] PageTableEntryValidated,
    /// <summary>
    /// A guest exception that entered the hypervisor and was bounced into the guest kernel's registered handler
    /// (page faults, ...): the whole round trip, the hypervisor's entry included.
    /// </summary>
    [Category(EventCategory.Hypercalls)] BouncedException,
    /// <summary>
    /// A user-mode sysenter that entered the hypervisor (a ring-1 kernel cannot be its target) and was bounced to
    /// the guest kernel's registered sysenter callback: the whole round trip.
    /// </summary>
    [Category(EventCategory.Hypercalls)] BouncedSystemCall,
    /// <summary>An event upcall into the guest kernel (timer, device).</summary>
    [Category(EventCategory.Hypercalls)] EventUpcall,
    /// <summary>A system call that reached the guest kernel directly through its registered trap gate.</summary>
    [Category(EventCategory.Hypercalls)] FastSystemCall,

    // ---- VM exits (hardware-assisted) ----
    /// <summary>VM exit: cpuid.</summary>
    [Category(EventCategory.VmExits)] ExitCpuid,
    /// <summary>VM exit: hlt.</summary>
    [Category(EventCategory.VmExits)] ExitHlt,
    /// <summary>VM exit: port I/O.</summary>
    [Category(EventCategory.VmExits)] ExitIo,
    /// <summary>VM exit: CR0/CR4 write under the guest/host mask, or CR access otherwise intercepted.</summary>
    [Category(EventCategory.VmExits)] ExitCrAccess,
    /// <summary>VM exit: CR3 load (shadow paging).</summary>
    [Category(EventCategory.VmExits)] ExitCr3Load,
    /// <summary>VM exit: invlpg (shadow paging).</summary>
    [Category(EventCategory.VmExits)] ExitInvlpg,
    /// <summary>VM exit: page fault (shadow paging).</summary>
    [Category(EventCategory.VmExits)] ExitPageFault,
    /// <summary>VM exit: another exception in the exception bitmap.</summary>
    [Category(EventCategory.VmExits)] ExitException,
    /// <summary>VM exit: external interrupt.</summary>
    [Category(EventCategory.VmExits)] ExitExternalInterrupt,
    /// <summary>VM exit: interrupt window opened (for a pending injection).</summary>
    [Category(EventCategory.VmExits)] ExitInterruptWindow,
    /// <summary>VM exit: rdmsr/wrmsr.</summary>
    [Category(EventCategory.VmExits)] ExitMsr,
    /// <summary>VM exit: vmcall.</summary>
    [Category(EventCategory.VmExits)] ExitVmcall,
    /// <summary>VM exit: rdtsc (when intercepted).</summary>
    [Category(EventCategory.VmExits)] ExitRdtsc,
    /// <summary>VM exit: EPT violation (nested tables lacked a mapping).</summary>
    [Category(EventCategory.VmExits)] ExitEptViolation,
    /// <summary>VM exit: a sensitive instruction or condition not listed above.</summary>
    [Category(EventCategory.VmExits)] ExitOther,

    // ---- VM entries and VMCS ----
    /// <summary>VM entry (vmresume).</summary>
    [Category(EventCategory.VmEntriesAndVmcs)] VmEntry,
    /// <summary>A VMCS field read by the VMM.</summary>
    [Category(EventCategory.VmEntriesAndVmcs)] VmcsRead,
    /// <summary>A VMCS field written by the VMM.</summary>
    [Category(EventCategory.VmEntriesAndVmcs)] VmcsWrite,
    /// <summary>An interrupt or exception injected on VM entry.</summary>
    [Category(EventCategory.VmEntriesAndVmcs)] InterruptInjection,

    // ---- Devices ----
    /// <summary>A guest port access emulated by the VMM's virtual devices.</summary>
    [Category(EventCategory.DeviceEmulation)] DeviceEmulation,
    /// <summary>A request placed on a paravirtual shared-memory ring and served by the backend.</summary>
    [Category(EventCategory.DeviceEmulation)] RingRequest,
    /// <summary>A notification (kick) of a paravirtual ring's backend.</summary>
    [Category(EventCategory.DeviceEmulation)] RingNotification,
}

/// <summary>Assigns an <see cref="Event"/> member to its chart category.</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class CategoryAttribute(EventCategory category) : Attribute
{
    /// <summary>The category.</summary>
    public EventCategory Category { get; } = category;
}
