namespace VirtBench.Machine.Monitor;

/// <summary>The type of an event in an interruption-information field (Intel's encoding, bits 10:8).</summary>
public enum InterruptionType : uint
{
    /// <summary>An external interrupt.</summary>
    ExternalInterrupt = 0,
    /// <summary>A non-maskable interrupt (this PC has no NMI source).</summary>
    Nmi = 2,
    /// <summary>A hardware exception (a fault, or a trap such as #DB).</summary>
    HardwareException = 3,
    /// <summary>A software interrupt (int n).</summary>
    SoftwareInterrupt = 4,
    /// <summary>A software exception (int3, into).</summary>
    SoftwareException = 6,
}

/// <summary>
/// An event as the VMCS describes it in the VM-exit interruption information, the IDT-vectoring information and
/// the VM-entry interruption information: vector (bits 7:0), type (10:8), error code delivered (11), valid (31).
/// </summary>
/// <param name="Valid">False for "no event" (the field is then zero).</param>
/// <param name="Vector">The vector.</param>
/// <param name="Type">Its type.</param>
/// <param name="DeliversErrorCode">True if an error code accompanies it (in the matching error-code field).</param>
public readonly record struct InterruptionInfo(bool Valid, int Vector, InterruptionType Type, bool DeliversErrorCode)
{
    private const uint ValidBit = 0x8000_0000, ErrorCodeBit = 0x800;

    /// <summary>No event.</summary>
    public static InterruptionInfo None => default;

    /// <summary>A valid event.</summary>
    public static InterruptionInfo Of(int vector, InterruptionType type, bool deliversErrorCode = false) =>
        new(true, vector, type, deliversErrorCode);

    /// <summary>True for software interrupts and exceptions, whose delivery returns past an instruction of some length.</summary>
    public bool IsSoftware => Type is InterruptionType.SoftwareInterrupt or InterruptionType.SoftwareException;

    /// <summary>The field's value.</summary>
    public uint Encode() => Valid ? ValidBit | (DeliversErrorCode ? ErrorCodeBit : 0) | (uint)Type << 8 | (uint)Vector & 0xFF : 0;

    /// <summary>Decodes a field's value.</summary>
    public static InterruptionInfo Decode(uint value) =>
        (value & ValidBit) == 0 ? None : new(true, (int)(value & 0xFF), (InterruptionType)((value >> 8) & 7), (value & ErrorCodeBit) != 0);

    /// <summary>How the CPU describes an event of this type when it delivers it.</summary>
    internal ExceptionKind Kind => Type switch
    {
        InterruptionType.ExternalInterrupt => ExceptionKind.External,
        InterruptionType.SoftwareInterrupt => ExceptionKind.SoftwareInterrupt,
        InterruptionType.SoftwareException => ExceptionKind.Trap,
        _ => ExceptionKind.Fault,
    };

    /// <summary>The type of an event the CPU raised.</summary>
    internal static InterruptionType TypeOf(int vector, ExceptionKind kind) => kind switch
    {
        ExceptionKind.External => InterruptionType.ExternalInterrupt,
        ExceptionKind.SoftwareInterrupt => InterruptionType.SoftwareInterrupt,
        ExceptionKind.Trap when vector is Cpu.Vectors.BP or Cpu.Vectors.OF => InterruptionType.SoftwareException,
        _ => InterruptionType.HardwareException,
    };
}
