namespace VirtBench.Machine.Cpu;

/// <summary>
/// A segment register's hidden part, loaded from a descriptor: base, limit and access rights.
/// <see cref="ReadEnd"/>/<see cref="WriteEnd"/> precompute the checks of the fast path: an access of n bytes
/// at offset o is allowed there when o + n &lt;= End; anything else (expand-down, null, unreadable,
/// unwritable, over the limit) goes to the slow path, which decides exactly.
/// </summary>
public struct Segment
{
    /// <summary>The visible selector.</summary>
    public ushort Selector;

    /// <summary>Linear base address.</summary>
    public uint Base;

    /// <summary>Byte-granular limit (granularity applied).</summary>
    public uint Limit;

    /// <summary>
    /// Access rights as in descriptor bits 40-55: type (bits 0-3), S (4), DPL (5-6), P (7), AVL (12), L (13),
    /// D/B (14), G (15). Zero for a null selector.
    /// </summary>
    public ushort Rights;

    internal ulong ReadEnd;
    internal ulong WriteEnd;

    /// <summary>Descriptor privilege level.</summary>
    public readonly int Dpl => (Rights >> 5) & 3;

    /// <summary>Present bit.</summary>
    public readonly bool Present => (Rights & 0x80) != 0;

    /// <summary>Code or data (S = 1) rather than a system descriptor.</summary>
    public readonly bool IsCodeOrData => (Rights & 0x10) != 0;

    /// <summary>A code segment.</summary>
    public readonly bool IsCode => IsCodeOrData && (Rights & 0x8) != 0;

    /// <summary>Conforming code segment.</summary>
    public readonly bool IsConforming => IsCode && (Rights & 0x4) != 0;

    /// <summary>Readable (code) or always (data).</summary>
    public readonly bool IsReadable => IsCodeOrData && (!IsCode || (Rights & 0x2) != 0);

    /// <summary>Writable data segment.</summary>
    public readonly bool IsWritable => IsCodeOrData && !IsCode && (Rights & 0x2) != 0;

    /// <summary>Expand-down data segment.</summary>
    public readonly bool IsExpandDown => IsCodeOrData && !IsCode && (Rights & 0x4) != 0;

    /// <summary>D/B bit: 32-bit default operand size (code) or 32-bit stack pointer (stack).</summary>
    public readonly bool Big => (Rights & 0x4000) != 0;

    /// <summary>True when the segment is usable for data access (not null).</summary>
    public readonly bool Usable => Rights != 0;

    /// <summary>Builds a segment cache from a descriptor's two dwords.</summary>
    public static Segment FromDescriptor(ushort selector, uint low, uint high)
    {
        uint limit = (low & 0xFFFF) | (high & 0x000F_0000);
        if ((high & 0x0080_0000) != 0) limit = (limit << 12) | 0xFFF;
        var s = new Segment
        {
            Selector = selector,
            Base = (low >> 16) | ((high & 0xFF) << 16) | (high & 0xFF00_0000),
            Limit = limit,
            Rights = (ushort)((high >> 8) & 0xF0FF),
        };
        s.UpdateFastLimits();
        return s;
    }

    /// <summary>A flat 4 GiB segment with the given rights (e.g. 0xC09B code, 0xC093 data; DPL in bits 5-6).</summary>
    public static Segment Flat(ushort selector, ushort rights)
    {
        var s = new Segment { Selector = selector, Base = 0, Limit = 0xFFFF_FFFF, Rights = rights };
        s.UpdateFastLimits();
        return s;
    }

    /// <summary>A null selector in a data segment register: any access faults.</summary>
    public static Segment Null(ushort selector) => new() { Selector = selector };

    /// <summary>Recomputes the fast-path bounds after Base/Limit/Rights change.</summary>
    public void UpdateFastLimits()
    {
        bool usable = Usable && Present && !IsExpandDown;
        ReadEnd = usable && IsReadable ? (ulong)Limit + 1 : 0;
        WriteEnd = usable && IsWritable ? (ulong)Limit + 1 : 0;
    }

    /// <summary>Describes the segment for diagnostics.</summary>
    public readonly override string ToString() =>
        $"sel=0x{Selector:x4} base=0x{Base:x8} limit=0x{Limit:x8} rights=0x{Rights:x4}";
}
