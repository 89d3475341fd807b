namespace VirtBench.Machine;

/// <summary>
/// The contract between the paravirtual guest kernel and the Xen-style hypervisor (the <c>paravirt</c> engine):
/// hypercall numbers and arguments, the shared-info page, the start-info page, the device ring and the event
/// ports, and the state the domain builder starts the guest in. Numbers and layouts are 32-bit Xen's where Xen
/// has the item; docs/paravirt.md describes the protocol.
/// </summary>
/// <remarks>
/// A hypercall is <c>int 0x82</c> from ring 1 with the call number in EAX and arguments in EBX, ECX, EDX, ESI,
/// EDI; the result (0 or a negative errno) comes back in EAX and every other register is preserved.
/// </remarks>
public static class ParavirtAbi
{
    /// <summary>The software interrupt of a hypercall.</summary>
    public const int HypercallVector = 0x82;

    /// <summary>Where the hypervisor's own mappings start (GDT, IDT, TSS); guest segments end below it.</summary>
    public const uint HypervisorBase = 0xFC00_0000;

    /// <summary>The largest limit of a guest segment whose base is 0.</summary>
    public const uint GuestSegmentLimit = HypervisorBase - 1;

    /// <summary>Xen's DOMID_SELF, the domain argument of mmu_update and mmuext_op.</summary>
    public const uint DomainSelf = 0x7FF0;

    /// <summary>Hypercall numbers (Xen's).</summary>
    public static class Hypercall
    {
        /// <summary>set_trap_table(EBX = trap_info array ending with address 0).</summary>
        public const uint SetTrapTable = 0;
        /// <summary>mmu_update(EBX = requests, ECX = count, EDX = done count pointer or 0, ESI = DOMID_SELF).</summary>
        public const uint MmuUpdate = 1;
        /// <summary>set_gdt(EBX = frame list, ECX = number of descriptors).</summary>
        public const uint SetGdt = 2;
        /// <summary>stack_switch(EBX = SS, ECX = ESP): the ring-1 stack of the next entry from user mode.</summary>
        public const uint StackSwitch = 3;
        /// <summary>set_callbacks(EBX = event CS, ECX = event EIP, EDX = failsafe CS, ESI = failsafe EIP).</summary>
        public const uint SetCallbacks = 4;
        /// <summary>xen_version(EBX = command, ECX = argument): also delivers pending events on return.</summary>
        public const uint XenVersion = 17;
        /// <summary>console_io(EBX = command, ECX = count, EDX = buffer).</summary>
        public const uint ConsoleIo = 18;
        /// <summary>iret: pops [EAX, EIP, CS, EFLAGS (, ESP, SS)] from the guest stack; the event mask follows EFLAGS.IF.</summary>
        public const uint Iret = 23;
        /// <summary>mmuext_op(EBX = operations, ECX = count, EDX = done count pointer or 0, ESI = DOMID_SELF).</summary>
        public const uint MmuExtOp = 26;
        /// <summary>sched_op(EBX = command, ECX = argument pointer).</summary>
        public const uint SchedOp = 29;
        /// <summary>callback_op(EBX = command, ECX = callback_register pointer).</summary>
        public const uint CallbackOp = 30;
        /// <summary>event_channel_op(EBX = command, ECX = argument pointer).</summary>
        public const uint EventChannelOp = 32;
    }

    /// <summary>Negative results (Linux/Xen errno values).</summary>
    public static class Error
    {
        /// <summary>Operation not permitted (a frame the guest does not own).</summary>
        public const int EPERM = 1;
        /// <summary>Bad guest pointer.</summary>
        public const int EFAULT = 14;
        /// <summary>Busy (e.g. unpinning the current page directory).</summary>
        public const int EBUSY = 16;
        /// <summary>Invalid argument (validation failed).</summary>
        public const int EINVAL = 22;
        /// <summary>No such hypercall or command.</summary>
        public const int ENOSYS = 38;
    }

    /// <summary>mmu_update: the low two bits of a request's pointer.</summary>
    public static class MmuUpdate
    {
        /// <summary>Bytes per request: uint64 ptr, uint64 val.</summary>
        public const int RequestSize = 16;
        /// <summary>Write the entry at the machine address in ptr (validated if its page is a page table).</summary>
        public const uint NormalPtUpdate = 0;
        /// <summary>As <see cref="NormalPtUpdate"/>, keeping the entry's accessed and dirty bits.</summary>
        public const uint PtUpdatePreserveAd = 2;
    }

    /// <summary>mmuext_op commands (Xen's).</summary>
    public static class MmuExt
    {
        /// <summary>Bytes per operation: uint32 cmd, arg1 (frame number or linear address), arg2.</summary>
        public const int OperationSize = 12;
        /// <summary>Validate a frame as a page table and keep it one.</summary>
        public const uint PinL1Table = 0;
        /// <summary>Validate a frame as a page directory and keep it one.</summary>
        public const uint PinL2Table = 1;
        /// <summary>Release a pin.</summary>
        public const uint UnpinTable = 4;
        /// <summary>Switch the page-table base (CR3) to a page directory frame.</summary>
        public const uint NewBasePtr = 5;
        /// <summary>Flush the whole TLB.</summary>
        public const uint TlbFlushLocal = 6;
        /// <summary>Flush the TLB entry of a linear address.</summary>
        public const uint InvlpgLocal = 7;
        /// <summary>Flush the whole TLB of every processor (here: the one).</summary>
        public const uint TlbFlushAll = 10;
        /// <summary>Flush a linear address on every processor (here: the one).</summary>
        public const uint InvlpgAll = 11;
    }

    /// <summary>sched_op commands.</summary>
    public static class SchedOp
    {
        /// <summary>Give up the processor (one domain: returns at once).</summary>
        public const uint Yield = 0;
        /// <summary>Unmask events and sleep until one is pending.</summary>
        public const uint Block = 1;
        /// <summary>End the domain (ECX points at the reason: 0 poweroff, 1 reboot, 2 suspend, 3 crash).</summary>
        public const uint Shutdown = 2;
    }

    /// <summary>console_io commands.</summary>
    public static class ConsoleIo
    {
        /// <summary>Write ECX bytes at EDX to the hypervisor console.</summary>
        public const uint Write = 0;
    }

    /// <summary>event_channel_op commands and ports.</summary>
    public static class EventChannel
    {
        /// <summary>Notify the other end of a port (argument: uint32 port).</summary>
        public const uint Send = 4;
        /// <summary>Unmask a port (argument: uint32 port).</summary>
        public const uint Unmask = 9;
        /// <summary>Number of event ports (one 32-bit word of pending and mask bits).</summary>
        public const int Ports = 32;
        /// <summary>The port of PIC line 0 (the timer); line n is this plus n.</summary>
        public const int FirstIrqPort = 1;
        /// <summary>PIC lines bound to ports.</summary>
        public const int IrqLines = 16;
        /// <summary>The port of the device ring's backend.</summary>
        public const int DeviceRingPort = FirstIrqPort + IrqLines;
    }

    /// <summary>callback_op and the callback types.</summary>
    public static class Callback
    {
        /// <summary>Register a callback (callback_register: uint16 type, uint16 flags, uint32 cs, uint32 eip).</summary>
        public const uint Register = 0;
        /// <summary>The event upcall.</summary>
        public const uint TypeEvent = 0;
        /// <summary>The failsafe callback (the hypervisor could not return to the guest).</summary>
        public const uint TypeFailsafe = 1;
        /// <summary>Where a user-mode sysenter lands.</summary>
        public const uint TypeSysenter = 5;
        /// <summary>Flag: mask events on entry.</summary>
        public const uint FlagMaskEvents = 1;
    }

    /// <summary>trap_info entries of set_trap_table: uint8 vector, uint8 flags, uint16 cs, uint32 address.</summary>
    public static class TrapInfo
    {
        /// <summary>Bytes per entry.</summary>
        public const int Size = 8;
        /// <summary>Flags bits 0-1: the privilege level allowed to raise the vector with int n.</summary>
        public const uint DplMask = 3;
        /// <summary>Flags bit 2: mask events on entry (an interrupt gate rather than a trap gate).</summary>
        public const uint MaskEvents = 4;
    }

    /// <summary>
    /// The shared-info page (a hypervisor frame shared with the guest), Xen's layout: vcpu_info of the one
    /// processor at 0, then the event-channel bitmaps.
    /// </summary>
    public static class SharedInfo
    {
        /// <summary>
        /// Where the domain builder maps the page in the bootstrap address space; the guest keeps it mapped there
        /// (it is in the kernel's fixmap, see GUEST.md).
        /// </summary>
        public const uint LinearAddress = 0x023F_F000;
        /// <summary>Byte: an event is pending (evtchn_upcall_pending).</summary>
        public const int UpcallPending = 0;
        /// <summary>Byte: events are masked, the virtual interrupt flag inverted (evtchn_upcall_mask).</summary>
        public const int UpcallMask = 1;
        /// <summary>Dword: the faulting address of the last bounced page fault (arch.cr2).</summary>
        public const int Cr2 = 8;
        /// <summary>Dword bitmap of pending ports (evtchn_pending).</summary>
        public const int EventPending = 2048;
        /// <summary>Dword bitmap of masked ports (evtchn_mask).</summary>
        public const int EventMask = 2176;
    }

    /// <summary>The start-info page the domain builder fills (guest RAM, a fixed address).</summary>
    public static class StartInfo
    {
        /// <summary>Guest-physical (and, in the bootstrap address space, linear) address.</summary>
        public const uint Address = 0x0000_1000;
        /// <summary>The magic string at offset 0.</summary>
        public const string Magic = "xen-3.0-x86_32";
        /// <summary>Dword: pages of guest RAM.</summary>
        public const int NrPages = 32;
        /// <summary>Dword: machine address of the shared-info page.</summary>
        public const int SharedInfoAddress = 36;
        /// <summary>Dword: flags (none defined).</summary>
        public const int Flags = 40;
        /// <summary>
        /// Dword: machine address of the bootstrap page directory; its page tables follow it, one per 4 MiB from
        /// linear 0, so the bootstrap entry of linear address v is at PtBase + 4096 + (v &gt;&gt; 12) * 4.
        /// </summary>
        public const int PtBase = 44;
        /// <summary>Dword: frames of bootstrap page tables (directory included).</summary>
        public const int NrPtFrames = 48;
        /// <summary>Dword: guest-physical address of the device ring page.</summary>
        public const int DeviceRing = 52;
        /// <summary>Dword: the device ring's event port.</summary>
        public const int DeviceRingPort = 56;
        /// <summary>Dword: the event port of PIC line 0.</summary>
        public const int FirstIrqPort = 60;
    }

    /// <summary>
    /// The device ring (Xen's shared-ring layout, one page of guest RAM): producer and consumer indexes, then
    /// slots that carry a request and, once served, its response. Requests are port accesses on the PC's devices.
    /// </summary>
    public static class DeviceRing
    {
        /// <summary>Guest-physical (and linear) address of the page.</summary>
        public const uint Address = 0x0000_2000;
        /// <summary>Dword: requests produced by the guest (free-running).</summary>
        public const int RequestProducer = 0;
        /// <summary>Dword: responses produced by the backend (free-running).</summary>
        public const int ResponseProducer = 8;
        /// <summary>Offset of slot 0.</summary>
        public const int Slots = 64;
        /// <summary>Bytes per slot.</summary>
        public const int SlotSize = 16;
        /// <summary>Number of slots (a power of two).</summary>
        public const int SlotCount = 32;
        /// <summary>Slot byte: <see cref="OpIn"/> or <see cref="OpOut"/>.</summary>
        public const int SlotOp = 0;
        /// <summary>Slot byte: access size, 1, 2 or 4.</summary>
        public const int SlotAccessSize = 1;
        /// <summary>Slot word: the port.</summary>
        public const int SlotPort = 2;
        /// <summary>Slot dword: the value written, or (response) the value read.</summary>
        public const int SlotValue = 4;
        /// <summary>Slot dword (response): 0, or a negative errno for a malformed request.</summary>
        public const int SlotStatus = 8;
        /// <summary>Read a port.</summary>
        public const byte OpIn = 0;
        /// <summary>Write a port.</summary>
        public const byte OpOut = 1;
    }

    /// <summary>
    /// The hypervisor's GDT (one page at <see cref="HypervisorBase"/>): guest descriptors from set_gdt in entries
    /// below <see cref="FirstReservedEntry"/>, the hypervisor's own above.
    /// </summary>
    public static class Gdt
    {
        /// <summary>Entries a guest may fill with set_gdt.</summary>
        public const int FirstReservedEntry = 504;
        /// <summary>The hypervisor's TSS.</summary>
        public const ushort TssSelector = FirstReservedEntry * 8;
        /// <summary>Flat ring-1 code, what the domain builder starts the guest with (Xen's FLAT_RING1_CS).</summary>
        public const ushort FlatRing1Code = (FirstReservedEntry + 1) * 8 | 1;
        /// <summary>Flat ring-1 data (FLAT_RING1_DS).</summary>
        public const ushort FlatRing1Data = (FirstReservedEntry + 2) * 8 | 1;
        /// <summary>Flat ring-3 code (FLAT_RING3_CS).</summary>
        public const ushort FlatRing3Code = (FirstReservedEntry + 3) * 8 | 3;
        /// <summary>Flat ring-3 data (FLAT_RING3_DS).</summary>
        public const ushort FlatRing3Data = (FirstReservedEntry + 4) * 8 | 3;
    }

    /// <summary>Where the domain builder leaves ESP (a scratch stack in low guest RAM) at the kernel's entry.</summary>
    public const uint BootStackTop = 0x0000_8000;
}
