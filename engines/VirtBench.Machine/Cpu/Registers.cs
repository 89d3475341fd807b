using System.Runtime.CompilerServices;

namespace VirtBench.Machine.Cpu;

/// <summary>General-purpose register numbers, in x86 encoding order.</summary>
public enum Reg : byte
{
    /// <summary>EAX.</summary>
    Eax, /// <summary>ECX.</summary>
    Ecx, /// <summary>EDX.</summary>
    Edx, /// <summary>EBX.</summary>
    Ebx, /// <summary>ESP.</summary>
    Esp, /// <summary>EBP.</summary>
    Ebp, /// <summary>ESI.</summary>
    Esi, /// <summary>EDI.</summary>
    Edi,
}

/// <summary>Segment register numbers, in x86 encoding order.</summary>
public enum SegReg : byte
{
    /// <summary>ES.</summary>
    Es, /// <summary>CS.</summary>
    Cs, /// <summary>SS.</summary>
    Ss, /// <summary>DS.</summary>
    Ds, /// <summary>FS.</summary>
    Fs, /// <summary>GS.</summary>
    Gs,
}

/// <summary>
/// The eight general-purpose registers plus a ninth that always reads zero, so that an effective address
/// "disp + base + index*scale" needs no branch when base or index is absent.
/// </summary>
[InlineArray(Count)]
internal struct RegisterFile
{
    public const int Count = 9;
    public const int Zero = 8;
    private uint _element0;
}

/// <summary>Segment register caches (ES, CS, SS, DS, FS, GS).</summary>
[InlineArray(6)]
internal struct SegmentFile
{
    private Segment _element0;
}
