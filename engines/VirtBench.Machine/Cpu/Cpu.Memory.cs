using System.Runtime.CompilerServices;
using VirtBench.Machine.Memory;

namespace VirtBench.Machine.Cpu;

// Memory access: segmentation (limit and type checks), then the fast TLB, then the MMU's slow path.
// Every accessor returns false after raising a fault (the instruction must then stop without side effects).
public sealed partial class Cpu
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte Host(int offset) => ref Memory.Ref(offset);

    // ---- Segmented data access (instruction operands) ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Read8(int seg, uint off, out uint v)
    {
        ref Segment s = ref Segs[seg];
        if ((ulong)off + 1 > s.ReadEnd) return SegmentedSlowRead(seg, off, 1, out v);
        uint lin = s.Base + off;
        ref FastTlb.Entry e = ref _fast[(lin >> 12) & FastTlb.Mask];
        if (e.ReadTag == lin >> 12) { v = Host(e.Host + (int)(lin & 0xFFF)); return true; }
        return ReadLinearSlow(lin, 1, Cpl == 3, out v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Read16(int seg, uint off, out uint v)
    {
        ref Segment s = ref Segs[seg];
        if ((ulong)off + 2 > s.ReadEnd) return SegmentedSlowRead(seg, off, 2, out v);
        uint lin = s.Base + off;
        ref FastTlb.Entry e = ref _fast[(lin >> 12) & FastTlb.Mask];
        if (e.ReadTag == lin >> 12 && (lin & 0xFFF) <= 0xFFE) { v = Unsafe.ReadUnaligned<ushort>(ref Host(e.Host + (int)(lin & 0xFFF))); return true; }
        return ReadLinearSlow(lin, 2, Cpl == 3, out v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Read32(int seg, uint off, out uint v)
    {
        ref Segment s = ref Segs[seg];
        if ((ulong)off + 4 > s.ReadEnd) return SegmentedSlowRead(seg, off, 4, out v);
        uint lin = s.Base + off;
        ref FastTlb.Entry e = ref _fast[(lin >> 12) & FastTlb.Mask];
        if (e.ReadTag == lin >> 12 && (lin & 0xFFF) <= 0xFFC) { v = Unsafe.ReadUnaligned<uint>(ref Host(e.Host + (int)(lin & 0xFFF))); return true; }
        return ReadLinearSlow(lin, 4, Cpl == 3, out v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Read(int seg, uint off, int size, out uint v) => size switch
    {
        4 => Read32(seg, off, out v),
        2 => Read16(seg, off, out v),
        _ => Read8(seg, off, out v),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Write8(int seg, uint off, uint v)
    {
        ref Segment s = ref Segs[seg];
        if ((ulong)off + 1 > s.WriteEnd) return SegmentedSlowWrite(seg, off, 1, v);
        uint lin = s.Base + off;
        ref FastTlb.Entry e = ref _fast[(lin >> 12) & FastTlb.Mask];
        if (e.WriteTag == lin >> 12) { Host(e.Host + (int)(lin & 0xFFF)) = (byte)v; return true; }
        return WriteLinearSlow(lin, 1, Cpl == 3, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Write16(int seg, uint off, uint v)
    {
        ref Segment s = ref Segs[seg];
        if ((ulong)off + 2 > s.WriteEnd) return SegmentedSlowWrite(seg, off, 2, v);
        uint lin = s.Base + off;
        ref FastTlb.Entry e = ref _fast[(lin >> 12) & FastTlb.Mask];
        if (e.WriteTag == lin >> 12 && (lin & 0xFFF) <= 0xFFE) { Unsafe.WriteUnaligned(ref Host(e.Host + (int)(lin & 0xFFF)), (ushort)v); return true; }
        return WriteLinearSlow(lin, 2, Cpl == 3, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Write32(int seg, uint off, uint v)
    {
        ref Segment s = ref Segs[seg];
        if ((ulong)off + 4 > s.WriteEnd) return SegmentedSlowWrite(seg, off, 4, v);
        uint lin = s.Base + off;
        ref FastTlb.Entry e = ref _fast[(lin >> 12) & FastTlb.Mask];
        if (e.WriteTag == lin >> 12 && (lin & 0xFFF) <= 0xFFC) { Unsafe.WriteUnaligned(ref Host(e.Host + (int)(lin & 0xFFF)), v); return true; }
        return WriteLinearSlow(lin, 4, Cpl == 3, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Write(int seg, uint off, int size, uint v) => size switch
    {
        4 => Write32(seg, off, v),
        2 => Write16(seg, off, v),
        _ => Write8(seg, off, v),
    };

    /// <summary>
    /// Checks a read-modify-write destination for writing (segment and page, as x86 checks the write before
    /// reading), then reads it. Finish with <see cref="EndRmw"/>, which cannot fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool BeginRmw(int seg, uint off, int size, out uint value, out uint linear)
    {
        ref Segment s = ref Segs[seg];
        if ((ulong)off + (uint)size > s.WriteEnd && !CheckSegmentSlow(seg, off, size, write: true)) { value = linear = 0; return false; }
        linear = s.Base + off;
        ref FastTlb.Entry e = ref _fast[(linear >> 12) & FastTlb.Mask];
        if (e.WriteTag == linear >> 12 && (linear & 0xFFF) <= 4096u - (uint)size)
        {
            ref byte p = ref Host(e.Host + (int)(linear & 0xFFF));
            value = size == 4 ? Unsafe.ReadUnaligned<uint>(ref p) : size == 2 ? Unsafe.ReadUnaligned<ushort>(ref p) : p;
            return true;
        }
        bool user = Cpl == 3;
        if (!ProbeWrite(linear, size, user)) { value = 0; return false; }
        return ReadLinearSlow(linear, size, user, out value);
    }

    /// <summary>Writes the result of a read-modify-write begun with <see cref="BeginRmw"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void EndRmw(uint linear, int size, uint value)
    {
        ref FastTlb.Entry e = ref _fast[(linear >> 12) & FastTlb.Mask];
        if (e.WriteTag == linear >> 12 && (linear & 0xFFF) <= 4096u - (uint)size)
        {
            ref byte p = ref Host(e.Host + (int)(linear & 0xFFF));
            if (size == 4) Unsafe.WriteUnaligned(ref p, value);
            else if (size == 2) Unsafe.WriteUnaligned(ref p, (ushort)value);
            else p = (byte)value;
            return;
        }
        WriteLinearSlow(linear, size, Cpl == 3, value);
    }

    /// <summary>
    /// For bulk string operations: translates seg:off for an access of <paramref name="size"/> bytes as the
    /// element-by-element path would, and gives its offset in machine memory, the bytes from it to the end of
    /// its page or segment (<paramref name="ahead"/>) and the bytes below it on the page down to offset 0
    /// (<paramref name="behind"/>). False when a run cannot start there (segment slow path, an access crossing
    /// the page, a frame holding code, open bus): the caller then takes the element path, which finds the same
    /// TLB state. If translation faults, the fault is raised (as the element would raise it) and
    /// <paramref name="faulted"/> is set.
    /// </summary>
    internal bool TryTranslateSpan(int seg, uint off, int size, bool write, out int host, out uint ahead, out uint behind, out bool faulted)
    {
        host = 0; ahead = behind = 0; faulted = false;
        ref Segment s = ref Segs[seg];
        ulong end = write ? s.WriteEnd : s.ReadEnd;
        uint lin = s.Base + off, inPage = lin & 0xFFF;
        if ((ulong)off + (uint)size > end || inPage + (uint)size > 4096) return false;
        ref FastTlb.Entry e = ref _fast[(lin >> 12) & FastTlb.Mask];
        int frame;
        if ((write ? e.WriteTag : e.ReadTag) == lin >> 12) frame = e.Host;
        else
        {
            // Not in the fast lookup (or evicted by the other operand of a movs): translate as the element would.
            bool user = Cpl == 3;
            var status = Mmu.Translate(lin, write ? MemoryAccess.Write : MemoryAccess.Read, user, out uint machine);
            if (status is not (TranslateStatus.Ok or TranslateStatus.OpenBus))
            {
                faulted = true;
                return TranslationFault(status, lin, write, user);
            }
            if (status == TranslateStatus.OpenBus || (write && Memory.IsCodeFrame(machine >> 12))) return false;
            frame = (int)(machine & ~0xFFFu);
        }
        host = frame + (int)inPage;
        ahead = (uint)Math.Min(4096u - inPage, end - off);
        behind = Math.Min(inPage, off);
        return true;
    }

    // ---- Stack (SS:ESP, 32-bit; a 16-bit stack segment uses SP) ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Push32(uint v)
    {
        uint sp = Regs[4] - 4;
        if (!Segs[(int)SegReg.Ss].Big) return Push16Bit(v, 4);
        if (!Write32((int)SegReg.Ss, sp, v)) return false;
        Regs[4] = sp;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Pop32(out uint v)
    {
        if (!Segs[(int)SegReg.Ss].Big) return Pop16Bit(out v, 4);
        if (!Read32((int)SegReg.Ss, Regs[4], out v)) return false;
        Regs[4] += 4;
        return true;
    }

    internal bool Push(uint v, int size)
    {
        if (size == 4) return Push32(v);
        if (!Segs[(int)SegReg.Ss].Big) return Push16Bit(v, 2);
        uint sp = Regs[4] - 2;
        if (!Write16((int)SegReg.Ss, sp, v)) return false;
        Regs[4] = sp;
        return true;
    }

    internal bool Pop(out uint v, int size)
    {
        if (size == 4) return Pop32(out v);
        if (!Segs[(int)SegReg.Ss].Big) return Pop16Bit(out v, 2);
        if (!Read16((int)SegReg.Ss, Regs[4], out v)) return false;
        Regs[4] += 2;
        return true;
    }

    /// <summary>Reads the stack at ESP + offset without popping (for multi-part pops that must not fault half way).</summary>
    internal bool PeekStack(uint offset, int size, out uint v)
    {
        uint sp = Segs[(int)SegReg.Ss].Big ? Regs[4] + offset : (ushort)(Regs[4] + offset);
        return Read((int)SegReg.Ss, sp, size, out v);
    }

    private bool Push16Bit(uint v, int size)
    {
        ushort sp = (ushort)(Regs[4] - (uint)size);
        if (!Write((int)SegReg.Ss, sp, size, v)) return false;
        Regs[4] = (Regs[4] & 0xFFFF_0000) | sp;
        return true;
    }

    private bool Pop16Bit(out uint v, int size)
    {
        if (!Read((int)SegReg.Ss, (ushort)Regs[4], size, out v)) return false;
        Regs[4] = (Regs[4] & 0xFFFF_0000) | (ushort)(Regs[4] + (uint)size);
        return true;
    }

    // ---- Linear access with an explicit privilege class (descriptor tables, TSS, delivery frames) ----

    /// <summary>Reads linear memory as the given privilege class (faults are raised).</summary>
    internal bool ReadLinear(uint lin, int size, bool user, out uint v) => ReadLinearSlow(lin, size, user, out v);

    /// <summary>Writes linear memory as the given privilege class (faults are raised).</summary>
    internal bool WriteLinear(uint lin, int size, bool user, uint v) => WriteLinearSlow(lin, size, user, v);

    // ---- Slow paths ----

    private bool SegmentedSlowRead(int seg, uint off, int size, out uint v)
    {
        v = 0;
        if (!CheckSegmentSlow(seg, off, size, write: false)) return false;
        return ReadLinearSlow(Segs[seg].Base + off, size, Cpl == 3, out v);
    }

    private bool SegmentedSlowWrite(int seg, uint off, int size, uint v)
    {
        if (!CheckSegmentSlow(seg, off, size, write: true)) return false;
        return WriteLinearSlow(Segs[seg].Base + off, size, Cpl == 3, v);
    }

    /// <summary>The exact segment check: usable, readable/writable, within the (expand-up or expand-down) limit.</summary>
    private bool CheckSegmentSlow(int seg, uint off, int size, bool write)
    {
        ref Segment s = ref Segs[seg];
        bool stack = seg == (int)SegReg.Ss;
        if (!s.Usable || !s.Present) return stack ? StackFault(0) : GeneralProtection(0);
        if (write ? !s.IsWritable : !s.IsReadable) return GeneralProtection(0);
        ulong last = (ulong)off + (uint)size - 1;
        bool inside = s.IsExpandDown
            ? off > s.Limit && last <= (s.Big ? 0xFFFF_FFFFul : 0xFFFFul)
            : last <= s.Limit;
        if (!inside) return stack ? StackFault(0) : GeneralProtection(0);
        return true;
    }

    private bool ReadLinearSlow(uint lin, int size, bool user, out uint v)
    {
        v = 0;
        if ((lin & 0xFFF) + (uint)size > 4096)
        {
            // Crosses a page: both pages are translated before the value is assembled.
            if (!ProbeRead(lin, user) || !ProbeRead((lin + (uint)size - 1) & ~0xFFFu, user)) return false; // CR2 is the second page's first byte
            for (int i = size - 1; i >= 0; i--)
            {
                if (!ReadLinearSlow(lin + (uint)i, 1, user, out uint b)) return false;
                v = (v << 8) | b;
            }
            return true;
        }
        var status = Mmu.Translate(lin, MemoryAccess.Read, user, out uint addr);
        if (status == TranslateStatus.Ok)
        {
            ref byte p = ref Host((int)addr);
            v = size == 4 ? Unsafe.ReadUnaligned<uint>(ref p) : size == 2 ? Unsafe.ReadUnaligned<ushort>(ref p) : p;
            return true;
        }
        if (status == TranslateStatus.OpenBus) { v = size == 4 ? 0xFFFF_FFFF : size == 2 ? 0xFFFFu : 0xFFu; return true; }
        return TranslationFault(status, lin, write: false, user);
    }

    private bool WriteLinearSlow(uint lin, int size, bool user, uint v)
    {
        if ((lin & 0xFFF) + (uint)size > 4096)
        {
            if (!ProbeWrite(lin, size, user)) return false;
            for (int i = 0; i < size; i++)
                if (!WriteLinearSlow(lin + (uint)i, 1, user, v >> (8 * i))) return false;
            return true;
        }
        var status = Mmu.Translate(lin, MemoryAccess.Write, user, out uint addr);
        if (status == TranslateStatus.Ok)
        {
            ref byte p = ref Host((int)addr);
            if (size == 4) Unsafe.WriteUnaligned(ref p, v);
            else if (size == 2) Unsafe.WriteUnaligned(ref p, (ushort)v);
            else p = (byte)v;
            Memory.NotifyWrite(addr, (uint)size);
            return true;
        }
        if (status == TranslateStatus.OpenBus) return true;
        return TranslationFault(status, lin, write: true, user);
    }

    private bool ProbeRead(uint lin, bool user)
    {
        var status = Mmu.Translate(lin, MemoryAccess.Read, user, out _);
        return status is TranslateStatus.Ok or TranslateStatus.OpenBus || TranslationFault(status, lin, write: false, user);
    }

    /// <summary>Checks that every page of [lin, lin+size) is writable by the class, faulting otherwise.</summary>
    private bool ProbeWrite(uint lin, int size, bool user)
    {
        uint last = lin + (uint)size - 1;
        var status = Mmu.Translate(lin, MemoryAccess.Write, user, out _);
        if (status is not (TranslateStatus.Ok or TranslateStatus.OpenBus)) return TranslationFault(status, lin, write: true, user);
        if ((last >> 12) == (lin >> 12)) return true;
        status = Mmu.Translate(last & ~0xFFFu, MemoryAccess.Write, user, out _);
        return status is TranslateStatus.Ok or TranslateStatus.OpenBus || TranslationFault(status, last & ~0xFFFu, write: true, user);
    }

    /// <summary>Translates an instruction-fetch address (CS:EIP already applied), raising #PF on failure.</summary>
    internal bool TranslateFetch(uint lin, out uint machineAddress)
    {
        var status = Mmu.Translate(lin, MemoryAccess.Execute, Cpl == 3, out machineAddress);
        if (status == TranslateStatus.Ok) return true;
        if (status == TranslateStatus.OpenBus) return GeneralProtection(0); // nothing to execute there
        return TranslationFault(status, lin, write: false, Cpl == 3);
    }

    private bool TranslationFault(TranslateStatus status, uint lin, bool write, bool user)
    {
        if (status == TranslateStatus.NestedFault) return NestedPagingFault(lin);
        return PageFault(lin, Mmu.FaultErrorCode);
    }
}
