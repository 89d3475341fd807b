namespace VirtBench.Machine.Monitor;

/// <summary>Why a VMX guest exited (the subset of Intel's basic exit reasons this machine models).</summary>
public enum VmExitReason
{
    /// <summary>An exception in the exception bitmap (see <see cref="VmExit.Vector"/>).</summary>
    Exception,
    /// <summary>An external interrupt with external-interrupt exiting on.</summary>
    ExternalInterrupt,
    /// <summary>Interrupts became enabled with interrupt-window exiting on.</summary>
    InterruptWindow,
    /// <summary>cpuid (always exits).</summary>
    Cpuid,
    /// <summary>hlt with hlt exiting on.</summary>
    Hlt,
    /// <summary>invlpg with invlpg exiting on.</summary>
    Invlpg,
    /// <summary>rdtsc with rdtsc exiting on.</summary>
    Rdtsc,
    /// <summary>vmcall (always exits).</summary>
    Vmcall,
    /// <summary>A control-register access (CR0/CR4 write under the mask, CR3 load/store exiting).</summary>
    ControlRegisterAccess,
    /// <summary>Port I/O with the port in the I/O bitmap.</summary>
    IoInstruction,
    /// <summary>rdmsr with the MSR in the bitmap.</summary>
    Rdmsr,
    /// <summary>wrmsr with the MSR in the bitmap.</summary>
    Wrmsr,
    /// <summary>The nested tables lack a mapping for a guest-physical address.</summary>
    EptViolation,
    /// <summary>A triple fault in the guest.</summary>
    TripleFault,
}

/// <summary>A VM exit and its qualification, as the VMCS exit fields would report it.</summary>
public readonly record struct VmExit
{
    /// <summary>The basic exit reason.</summary>
    public VmExitReason Reason { get; init; }

    /// <summary>Length of the exiting instruction (0 for events that are not instructions).</summary>
    public int InstructionLength { get; init; }

    /// <summary>Exception or interrupt vector (exception exits).</summary>
    public int Vector { get; init; }

    /// <summary>Exception error code, if any.</summary>
    public uint? ErrorCode { get; init; }

    /// <summary>Page-fault linear address, invlpg operand, or other address qualification.</summary>
    public uint Address { get; init; }

    /// <summary>Guest-physical address of an EPT violation.</summary>
    public uint GuestPhysicalAddress { get; init; }

    /// <summary>Port of an I/O exit.</summary>
    public ushort Port { get; init; }

    /// <summary>Access size in bytes of an I/O exit.</summary>
    public int Size { get; init; }

    /// <summary>True for out/wrmsr/CR writes/EPT write violations; false for in/rdmsr/CR reads.</summary>
    public bool IsWrite { get; init; }

    /// <summary>True for string I/O (ins/outs).</summary>
    public bool IsString { get; init; }

    /// <summary>True for a rep-prefixed string I/O.</summary>
    public bool IsRep { get; init; }

    /// <summary>Control register number of a CR access.</summary>
    public int ControlRegister { get; init; }

    /// <summary>General-purpose register operand of a CR access or MSR value source.</summary>
    public Cpu.Reg Register { get; init; }

    /// <summary>The exiting instruction, when there is one.</summary>
    public Iced.Intel.Instruction Instruction { get; init; }
}
