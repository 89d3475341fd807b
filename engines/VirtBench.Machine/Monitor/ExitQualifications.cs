using VirtBench.Machine.Cpu;

namespace VirtBench.Machine.Monitor;

/// <summary>How a control-register access is described in its exit qualification (bits 5:4).</summary>
public enum CrAccessType : uint
{
    /// <summary>mov to CRn.</summary>
    MovToCr = 0,
    /// <summary>mov from CRn.</summary>
    MovFromCr = 1,
    /// <summary>clts.</summary>
    Clts = 2,
    /// <summary>lmsw.</summary>
    Lmsw = 3,
}

/// <summary>
/// Exit qualification of a control-register access: CR number (bits 3:0), access type (5:4), lmsw operand in
/// memory (6), general-purpose register (11:8), lmsw source data (31:16).
/// </summary>
public readonly record struct CrAccessQualification(int ControlRegister, CrAccessType Access, Reg Register, bool LmswFromMemory = false, ushort LmswSource = 0)
{
    /// <summary>The qualification's value.</summary>
    public uint Encode() => (uint)ControlRegister & 0xF | (uint)Access << 4 | (LmswFromMemory ? 1u << 6 : 0) |
                            ((uint)Register & 0xF) << 8 | (uint)LmswSource << 16;

    /// <summary>Decodes a qualification.</summary>
    public static CrAccessQualification Decode(uint q) =>
        new((int)(q & 0xF), (CrAccessType)((q >> 4) & 3), (Reg)((q >> 8) & 0xF), (q & (1u << 6)) != 0, (ushort)(q >> 16));
}

/// <summary>
/// Exit qualification of an I/O instruction: access size - 1 (bits 2:0), direction (3: 1 = in), string (4),
/// rep (5), immediate port operand (6), port (31:16).
/// </summary>
public readonly record struct IoQualification(ushort Port, int Size, bool In, bool String = false, bool Rep = false, bool ImmediatePort = false)
{
    /// <summary>The qualification's value.</summary>
    public uint Encode() => (uint)(Size - 1) & 7 | (In ? 1u << 3 : 0) | (String ? 1u << 4 : 0) | (Rep ? 1u << 5 : 0) |
                            (ImmediatePort ? 1u << 6 : 0) | (uint)Port << 16;

    /// <summary>Decodes a qualification.</summary>
    public static IoQualification Decode(uint q) =>
        new((ushort)(q >> 16), (int)(q & 7) + 1, (q & 8) != 0, (q & 0x10) != 0, (q & 0x20) != 0, (q & 0x40) != 0);
}

/// <summary>
/// Exit qualification of an EPT violation: the access (bits 0-2: read, write, instruction fetch), what the
/// nested tables allowed at that address (3-5: readable, writable, executable; all clear when not present),
/// whether the guest linear address is valid (7) and, if so, whether the access was to the final translation
/// rather than to one of the guest's own paging-structure entries (8).
/// </summary>
public readonly record struct EptViolationQualification(
    bool Read, bool Write, bool Fetch, bool Readable, bool Writable, bool Executable, bool LinearAddressValid, bool FinalTranslation)
{
    /// <summary>The qualification's value.</summary>
    public uint Encode() => (Read ? 1u : 0) | (Write ? 2u : 0) | (Fetch ? 4u : 0) | (Readable ? 8u : 0) | (Writable ? 0x10u : 0) |
                            (Executable ? 0x20u : 0) | (LinearAddressValid ? 0x80u : 0) | (FinalTranslation ? 0x100u : 0);

    /// <summary>Decodes a qualification.</summary>
    public static EptViolationQualification Decode(uint q) =>
        new((q & 1) != 0, (q & 2) != 0, (q & 4) != 0, (q & 8) != 0, (q & 0x10) != 0, (q & 0x20) != 0, (q & 0x80) != 0, (q & 0x100) != 0);
}
