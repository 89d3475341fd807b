namespace VirtBench.Machine.Monitor;

/// <summary>Why a VMX guest exited: the basic exit reasons this machine models, with Intel's numbers.</summary>
public enum VmExitReason : uint
{
    /// <summary>An exception in the exception bitmap (<see cref="VmExit.Interruption"/> says which).</summary>
    Exception = 0,
    /// <summary>An external interrupt with external-interrupt exiting on.</summary>
    ExternalInterrupt = 1,
    /// <summary>A triple fault in the guest.</summary>
    TripleFault = 2,
    /// <summary>The guest became able to take an interrupt, with interrupt-window exiting on.</summary>
    InterruptWindow = 7,
    /// <summary>cpuid (always exits).</summary>
    Cpuid = 10,
    /// <summary>hlt with hlt exiting on.</summary>
    Hlt = 12,
    /// <summary>invlpg with invlpg exiting on.</summary>
    Invlpg = 14,
    /// <summary>rdtsc with rdtsc exiting on.</summary>
    Rdtsc = 16,
    /// <summary>vmcall (always exits).</summary>
    Vmcall = 18,
    /// <summary>A control-register access: CR0/CR4 writes under the masks, clts, lmsw, CR3 loads and stores when exiting.</summary>
    ControlRegisterAccess = 28,
    /// <summary>Port I/O that the I/O controls make exit.</summary>
    IoInstruction = 30,
    /// <summary>rdmsr that the MSR controls make exit.</summary>
    Rdmsr = 31,
    /// <summary>wrmsr that the MSR controls make exit.</summary>
    Wrmsr = 32,
    /// <summary>The nested tables lack a mapping (or the permission) for a guest-physical access.</summary>
    EptViolation = 48,
}

/// <summary>
/// What the CPU records in the VMCS's exit-information fields on a VM exit. A VMM reads it through
/// <see cref="Vmcs.Read"/> (each read counted, as on hardware); this record is the same information uncounted,
/// for tests and diagnostics.
/// </summary>
public readonly record struct VmExit
{
    /// <summary>The basic exit reason.</summary>
    public VmExitReason Reason { get; init; }

    /// <summary>The exit qualification (format by reason; see <see cref="VmcsField.ExitQualification"/>).</summary>
    public uint Qualification { get; init; }

    /// <summary>Length of the exiting instruction (0 for events that are not instructions).</summary>
    public int InstructionLength { get; init; }

    /// <summary>VM-exit instruction information (ins/outs: address size and segment).</summary>
    public uint InstructionInfo { get; init; }

    /// <summary>The exception (exception exits) or acknowledged interrupt (external-interrupt exits with acknowledgement).</summary>
    public InterruptionInfo Interruption { get; init; }

    /// <summary>The exception's error code, when <see cref="Interruption"/> delivers one.</summary>
    public uint InterruptionErrorCode { get; init; }

    /// <summary>The event whose delivery through the guest's IDT this exit interrupted, if any.</summary>
    public InterruptionInfo IdtVectoring { get; init; }

    /// <summary>That event's error code.</summary>
    public uint IdtVectoringErrorCode { get; init; }

    /// <summary>Guest linear address (EPT violations with a valid linear address).</summary>
    public uint GuestLinearAddress { get; init; }

    /// <summary>Guest-physical address of an EPT violation.</summary>
    public uint GuestPhysicalAddress { get; init; }

    /// <summary>The exiting instruction as Iced decoded it, when there is one (diagnostics only).</summary>
    public Iced.Intel.Instruction Instruction { get; init; }
}
