namespace VirtBench.Machine.Monitor;

/// <summary>
/// The VMCS fields this machine implements, numbered with Intel's field encodings (SDM vol. 3, appendix B),
/// so that a reader who knows VT-x recognizes them. A VMM accesses them with <see cref="Vmcs.Read"/> and
/// <see cref="Vmcs.Write"/> (VMREAD/VMWRITE, each counted). General-purpose registers other than ESP are not
/// in the VMCS: a VMM reads and writes them on the CPU directly, as KVM saves them in software.
/// </summary>
public enum VmcsField : uint
{
    // ---- 16-bit guest state: selectors ----
    /// <summary>Guest ES selector.</summary>
    GuestEsSelector = 0x0800,
    /// <summary>Guest CS selector.</summary>
    GuestCsSelector = 0x0802,
    /// <summary>Guest SS selector.</summary>
    GuestSsSelector = 0x0804,
    /// <summary>Guest DS selector.</summary>
    GuestDsSelector = 0x0806,
    /// <summary>Guest FS selector.</summary>
    GuestFsSelector = 0x0808,
    /// <summary>Guest GS selector.</summary>
    GuestGsSelector = 0x080A,
    /// <summary>Guest LDTR selector.</summary>
    GuestLdtrSelector = 0x080C,
    /// <summary>Guest TR selector.</summary>
    GuestTrSelector = 0x080E,

    // ---- 64-bit control fields (addresses; this machine has 32-bit physical addresses) ----
    /// <summary>Physical address of I/O bitmap A (ports 0000-7FFF), used with <see cref="ProcessorBasedControls.UseIoBitmaps"/>.</summary>
    IoBitmapA = 0x2000,
    /// <summary>Physical address of I/O bitmap B (ports 8000-FFFF).</summary>
    IoBitmapB = 0x2002,
    /// <summary>Physical address of the 4 KiB MSR bitmap, used with <see cref="ProcessorBasedControls.UseMsrBitmaps"/>.</summary>
    MsrBitmap = 0x2004,
    /// <summary>EPT pointer: bits 31:12 are the physical address of the nested page directory (the machine's 2-level format).</summary>
    EptPointer = 0x201A,

    // ---- 64-bit read-only data ----
    /// <summary>Guest-physical address of an EPT violation.</summary>
    GuestPhysicalAddress = 0x2400,

    // ---- 32-bit control fields ----
    /// <summary>Pin-based VM-execution controls (<see cref="Monitor.PinBasedControls"/>).</summary>
    PinBasedControls = 0x4000,
    /// <summary>Primary processor-based VM-execution controls (<see cref="Monitor.ProcessorBasedControls"/>).</summary>
    ProcessorBasedControls = 0x4002,
    /// <summary>Exception bitmap: exceptions whose bit is set exit (for #PF, subject to the error-code mask and match).</summary>
    ExceptionBitmap = 0x4004,
    /// <summary>Page-fault error-code mask.</summary>
    PageFaultErrorCodeMask = 0x4006,
    /// <summary>Page-fault error-code match.</summary>
    PageFaultErrorCodeMatch = 0x4008,
    /// <summary>VM-exit controls (<see cref="Monitor.ExitControls"/>).</summary>
    ExitControls = 0x400C,
    /// <summary>VM-entry interruption information: the event to inject on the next VM entry (<see cref="InterruptionInfo"/>).</summary>
    EntryInterruptionInfo = 0x4016,
    /// <summary>VM-entry exception error code.</summary>
    EntryExceptionErrorCode = 0x4018,
    /// <summary>VM-entry instruction length (for injected software interrupts and exceptions).</summary>
    EntryInstructionLength = 0x401A,
    /// <summary>Secondary processor-based VM-execution controls (<see cref="Monitor.SecondaryControls"/>).</summary>
    SecondaryControls = 0x401E,

    // ---- 32-bit read-only data: exit information ----
    /// <summary>Exit reason (basic reason in bits 15:0, <see cref="VmExitReason"/>).</summary>
    ExitReason = 0x4402,
    /// <summary>VM-exit interruption information (exception and external-interrupt exits).</summary>
    ExitInterruptionInfo = 0x4404,
    /// <summary>VM-exit interruption error code.</summary>
    ExitInterruptionErrorCode = 0x4406,
    /// <summary>IDT-vectoring information: the event whose delivery the exit interrupted.</summary>
    IdtVectoringInfo = 0x4408,
    /// <summary>IDT-vectoring error code.</summary>
    IdtVectoringErrorCode = 0x440A,
    /// <summary>Length of the instruction that caused the exit.</summary>
    ExitInstructionLength = 0x440C,
    /// <summary>VM-exit instruction information (for ins/outs: address size in bits 9:7, segment in bits 17:15).</summary>
    ExitInstructionInfo = 0x440E,

    // ---- 32-bit guest state ----
    /// <summary>Guest ES limit.</summary>
    GuestEsLimit = 0x4800,
    /// <summary>Guest CS limit.</summary>
    GuestCsLimit = 0x4802,
    /// <summary>Guest SS limit.</summary>
    GuestSsLimit = 0x4804,
    /// <summary>Guest DS limit.</summary>
    GuestDsLimit = 0x4806,
    /// <summary>Guest FS limit.</summary>
    GuestFsLimit = 0x4808,
    /// <summary>Guest GS limit.</summary>
    GuestGsLimit = 0x480A,
    /// <summary>Guest LDTR limit.</summary>
    GuestLdtrLimit = 0x480C,
    /// <summary>Guest TR limit.</summary>
    GuestTrLimit = 0x480E,
    /// <summary>Guest GDTR limit.</summary>
    GuestGdtrLimit = 0x4810,
    /// <summary>Guest IDTR limit.</summary>
    GuestIdtrLimit = 0x4812,
    /// <summary>Guest ES access rights (descriptor bits 40-55; bit 16: unusable).</summary>
    GuestEsAccessRights = 0x4814,
    /// <summary>Guest CS access rights.</summary>
    GuestCsAccessRights = 0x4816,
    /// <summary>Guest SS access rights.</summary>
    GuestSsAccessRights = 0x4818,
    /// <summary>Guest DS access rights.</summary>
    GuestDsAccessRights = 0x481A,
    /// <summary>Guest FS access rights.</summary>
    GuestFsAccessRights = 0x481C,
    /// <summary>Guest GS access rights.</summary>
    GuestGsAccessRights = 0x481E,
    /// <summary>Guest LDTR access rights.</summary>
    GuestLdtrAccessRights = 0x4820,
    /// <summary>Guest TR access rights.</summary>
    GuestTrAccessRights = 0x4822,
    /// <summary>Guest interruptibility state (<see cref="Monitor.GuestInterruptibility"/>).</summary>
    GuestInterruptibility = 0x4824,
    /// <summary>Guest activity state (<see cref="Monitor.GuestActivityState"/>).</summary>
    GuestActivityState = 0x4826,
    /// <summary>Guest IA32_SYSENTER_CS.</summary>
    GuestSysenterCs = 0x482A,

    // ---- natural-width control fields ----
    /// <summary>CR0 guest/host mask: bits owned by the VMM (guest writes changing them relative to the shadow exit).</summary>
    Cr0GuestHostMask = 0x6000,
    /// <summary>CR4 guest/host mask.</summary>
    Cr4GuestHostMask = 0x6002,
    /// <summary>CR0 read shadow: what the guest reads for the VMM-owned bits.</summary>
    Cr0ReadShadow = 0x6004,
    /// <summary>CR4 read shadow.</summary>
    Cr4ReadShadow = 0x6006,

    // ---- natural-width read-only data ----
    /// <summary>Exit qualification (format by reason: <see cref="CrAccessQualification"/>, <see cref="IoQualification"/>, <see cref="EptViolationQualification"/>, a linear address for #PF and invlpg).</summary>
    ExitQualification = 0x6400,
    /// <summary>Guest linear address (EPT violations with a valid linear address; ins/outs).</summary>
    GuestLinearAddress = 0x640A,

    // ---- natural-width guest state ----
    /// <summary>Guest CR0 (the value in force; the guest reads the read shadow for VMM-owned bits).</summary>
    GuestCr0 = 0x6800,
    /// <summary>Guest CR3 (the root the MMU walks: the guest's own under EPT, a shadow root under shadow paging).</summary>
    GuestCr3 = 0x6802,
    /// <summary>Guest CR4.</summary>
    GuestCr4 = 0x6804,
    /// <summary>Guest ES base.</summary>
    GuestEsBase = 0x6806,
    /// <summary>Guest CS base.</summary>
    GuestCsBase = 0x6808,
    /// <summary>Guest SS base.</summary>
    GuestSsBase = 0x680A,
    /// <summary>Guest DS base.</summary>
    GuestDsBase = 0x680C,
    /// <summary>Guest FS base.</summary>
    GuestFsBase = 0x680E,
    /// <summary>Guest GS base.</summary>
    GuestGsBase = 0x6810,
    /// <summary>Guest LDTR base.</summary>
    GuestLdtrBase = 0x6812,
    /// <summary>Guest TR base.</summary>
    GuestTrBase = 0x6814,
    /// <summary>Guest GDTR base.</summary>
    GuestGdtrBase = 0x6816,
    /// <summary>Guest IDTR base.</summary>
    GuestIdtrBase = 0x6818,
    /// <summary>Guest RSP (ESP).</summary>
    GuestRsp = 0x681C,
    /// <summary>Guest RIP (EIP).</summary>
    GuestRip = 0x681E,
    /// <summary>Guest RFLAGS (EFLAGS).</summary>
    GuestRflags = 0x6820,
    /// <summary>Guest IA32_SYSENTER_ESP.</summary>
    GuestSysenterEsp = 0x6824,
    /// <summary>Guest IA32_SYSENTER_EIP.</summary>
    GuestSysenterEip = 0x6826,
}

/// <summary>Guest interruptibility state bits (VMCS field <see cref="VmcsField.GuestInterruptibility"/>).</summary>
[Flags]
public enum GuestInterruptibility : uint
{
    /// <summary>No blocking.</summary>
    None = 0,
    /// <summary>The instruction at RIP follows an sti that set IF: interrupts wait one instruction.</summary>
    BlockingBySti = 1,
    /// <summary>The instruction at RIP follows a mov or pop to SS: interrupts and #DB wait one instruction.</summary>
    BlockingByMovSs = 2,
}

/// <summary>Guest activity state (VMCS field <see cref="VmcsField.GuestActivityState"/>).</summary>
public enum GuestActivityState : uint
{
    /// <summary>Executing instructions.</summary>
    Active = 0,
    /// <summary>Halted by hlt, waiting for an interrupt.</summary>
    Hlt = 1,
}
