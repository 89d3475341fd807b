using System.Runtime.InteropServices;
using Iced.Intel;
using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// String instructions: movs, cmps, stos, lods, scas, ins, outs (8/16/32-bit elements, 16- or 32-bit
/// addresses, DF, a segment override on the source) with rep, repe and repne.
/// </summary>
/// <remarks>
/// A rep instruction retires as one instruction, but simulated time advances one tick per element, so the
/// budget bounds its work and timer interrupts arrive between elements as on hardware: the instruction runs
/// in slices that end at the next timer deadline (or after <see cref="Slice"/> elements) and then returns to
/// the run loop unretired, with EIP on it and ECX, ESI and EDI reflecting the elements done. A fault leaves
/// the same restartable state. rep movs and rep stos copy or fill whole runs within a page at once when the
/// pages translate as the elements would and the copy gives the same result as element by element.
/// </remarks>
internal static unsafe class Strings
{
    /// <summary>Most elements one slice of a rep instruction processes before returning to the run loop.</summary>
    public const uint Slice = 4096;

    public static bool TryBind(ref Op op, in Instruction i)
    {
        switch (i.Code)
        {
            case Code.Movsb_m8_m8: return Bind<Movs, W8>(ref op, in i);
            case Code.Movsw_m16_m16: return Bind<Movs, W16>(ref op, in i);
            case Code.Movsd_m32_m32: return Bind<Movs, W32>(ref op, in i);
            case Code.Cmpsb_m8_m8: return Bind<Cmps, W8>(ref op, in i);
            case Code.Cmpsw_m16_m16: return Bind<Cmps, W16>(ref op, in i);
            case Code.Cmpsd_m32_m32: return Bind<Cmps, W32>(ref op, in i);
            case Code.Stosb_m8_AL: return Bind<Stos, W8>(ref op, in i);
            case Code.Stosw_m16_AX: return Bind<Stos, W16>(ref op, in i);
            case Code.Stosd_m32_EAX: return Bind<Stos, W32>(ref op, in i);
            case Code.Lodsb_AL_m8: return Bind<Lods, W8>(ref op, in i);
            case Code.Lodsw_AX_m16: return Bind<Lods, W16>(ref op, in i);
            case Code.Lodsd_EAX_m32: return Bind<Lods, W32>(ref op, in i);
            case Code.Scasb_AL_m8: return Bind<Scas, W8>(ref op, in i);
            case Code.Scasw_AX_m16: return Bind<Scas, W16>(ref op, in i);
            case Code.Scasd_EAX_m32: return Bind<Scas, W32>(ref op, in i);
            case Code.Insb_m8_DX: return Bind<Ins, W8>(ref op, in i);
            case Code.Insw_m16_DX: return Bind<Ins, W16>(ref op, in i);
            case Code.Insd_m32_DX: return Bind<Ins, W32>(ref op, in i);
            case Code.Outsb_DX_m8: return Bind<Outs, W8>(ref op, in i);
            case Code.Outsw_DX_m16: return Bind<Outs, W16>(ref op, in i);
            case Code.Outsd_DX_m32: return Bind<Outs, W32>(ref op, in i);
            default: return false;
        }
    }

    /// <summary>
    /// Seg is the source segment (DS or the override), AddrMask selects SI/DI/CX or ESI/EDI/ECX, Aux is the
    /// prefix: 0 none, 1 rep/repe, 2 repne (which the non-comparing instructions treat as rep).
    /// </summary>
    private static bool Bind<T, W>(ref Op op, in Instruction i) where T : struct, IStringOp where W : struct, IWidth
    {
        op.Seg = (byte)(i.SegmentPrefix == Register.None ? SegReg.Ds : (SegReg)Operands.SegmentIndex(i.SegmentPrefix));
        bool addr16 = i.Op0Kind is OpKind.MemorySegSI or OpKind.MemoryESDI || i.Op1Kind is OpKind.MemorySegSI or OpKind.MemoryESDI;
        op.AddrMask = addr16 ? 0xFFFFu : 0xFFFF_FFFFu;
        op.Aux = (byte)(i.HasRepPrefix ? 1 : i.HasRepnePrefix ? 2 : 0);
        op.Size = (byte)W.Bytes;
        op.Exec = op.Aux == 0 ? &Once<T, W> : &Repeat<T, W>;
        if (T.IsIo) op.EndsBlock = true; // a device may have raised an interrupt or stopped the machine
        return true;
    }

    // ---- The element operations ----

    internal interface IStringOp
    {
        /// <summary>ins and outs: check I/O permission and VMX I/O exits once, before the first element.</summary>
        static abstract bool IsIo { get; }
        /// <summary>cmps and scas: repe/repne also stop on the comparison.</summary>
        static abstract bool Compares { get; }
        /// <summary>One element at ESI/EDI, then advances them; false after a fault (nothing changed).</summary>
        static abstract bool Element<W>(Cpu c, ref Op op, int delta, out bool equal) where W : struct, IWidth;
        /// <summary>Up to <paramref name="max"/> elements at once (advancing ESI/EDI); 0 when it cannot, or after raising the element's fault.</summary>
        static abstract uint Bulk<W>(Cpu c, ref Op op, int delta, uint max) where W : struct, IWidth;
    }

    private struct Movs : IStringOp
    {
        public static bool IsIo => false;
        public static bool Compares => false;

        public static bool Element<W>(Cpu c, ref Op op, int delta, out bool equal) where W : struct, IWidth
        {
            equal = false;
            uint mask = op.AddrMask;
            if (!W.Read(c, op.Seg, c.Regs[6] & mask, out uint v) || !W.Write(c, (int)SegReg.Es, c.Regs[7] & mask, v)) return false;
            Advance(c, 6, mask, delta);
            Advance(c, 7, mask, delta);
            return true;
        }

        public static uint Bulk<W>(Cpu c, ref Op op, int delta, uint max) where W : struct, IWidth
        {
            uint mask = op.AddrMask;
            uint si = c.Regs[6] & mask, di = c.Regs[7] & mask;
            if (!Run<W>(c, op.Seg, si, mask, delta, false, ref max, out int src) ||
                !Run<W>(c, (int)SegReg.Es, di, mask, delta, true, ref max, out int dst) || max < 2) return 0;
            int bytes = (int)max * W.Bytes;
            if (delta < 0) { src -= bytes - W.Bytes; dst -= bytes - W.Bytes; }
            // Element order matters only when the destination overlaps the source ahead of the copy direction.
            bool differs = delta > 0 ? dst > src && dst < src + bytes : dst < src && dst + bytes > src;
            if (differs) return 0;
            var memory = c.Memory.Bytes;
            memory.Slice(src, bytes).CopyTo(memory.Slice(dst, bytes));
            Advance(c, 6, mask, delta * (int)max);
            Advance(c, 7, mask, delta * (int)max);
            return max;
        }
    }

    private struct Stos : IStringOp
    {
        public static bool IsIo => false;
        public static bool Compares => false;

        public static bool Element<W>(Cpu c, ref Op op, int delta, out bool equal) where W : struct, IWidth
        {
            equal = false;
            if (!W.Write(c, (int)SegReg.Es, c.Regs[7] & op.AddrMask, W.Get(c, 0))) return false;
            Advance(c, 7, op.AddrMask, delta);
            return true;
        }

        public static uint Bulk<W>(Cpu c, ref Op op, int delta, uint max) where W : struct, IWidth
        {
            uint mask = op.AddrMask;
            if (!Run<W>(c, (int)SegReg.Es, c.Regs[7] & mask, mask, delta, true, ref max, out int dst) || max < 2) return 0;
            int bytes = (int)max * W.Bytes;
            if (delta < 0) dst -= bytes - W.Bytes;
            var span = c.Memory.Bytes.Slice(dst, bytes);
            uint v = W.Get(c, 0);
            if (W.Bytes == 1) span.Fill((byte)v);
            else if (W.Bytes == 2) MemoryMarshal.Cast<byte, ushort>(span).Fill((ushort)v);
            else MemoryMarshal.Cast<byte, uint>(span).Fill(v);
            Advance(c, 7, mask, delta * (int)max);
            return max;
        }
    }

    private struct Lods : IStringOp
    {
        public static bool IsIo => false;
        public static bool Compares => false;

        public static bool Element<W>(Cpu c, ref Op op, int delta, out bool equal) where W : struct, IWidth
        {
            equal = false;
            if (!W.Read(c, op.Seg, c.Regs[6] & op.AddrMask, out uint v)) return false;
            W.Set(c, 0, v);
            Advance(c, 6, op.AddrMask, delta);
            return true;
        }

        public static uint Bulk<W>(Cpu c, ref Op op, int delta, uint max) where W : struct, IWidth => 0;
    }

    private struct Cmps : IStringOp
    {
        public static bool IsIo => false;
        public static bool Compares => true;

        public static bool Element<W>(Cpu c, ref Op op, int delta, out bool equal) where W : struct, IWidth
        {
            equal = false;
            uint mask = op.AddrMask;
            if (!W.Read(c, op.Seg, c.Regs[6] & mask, out uint a) || !W.Read(c, (int)SegReg.Es, c.Regs[7] & mask, out uint b)) return false;
            c.Lazy.Set(FlagOp.Sub, W.Index, a, b, a - b);
            equal = a == b;
            Advance(c, 6, mask, delta);
            Advance(c, 7, mask, delta);
            return true;
        }

        public static uint Bulk<W>(Cpu c, ref Op op, int delta, uint max) where W : struct, IWidth => 0;
    }

    private struct Scas : IStringOp
    {
        public static bool IsIo => false;
        public static bool Compares => true;

        public static bool Element<W>(Cpu c, ref Op op, int delta, out bool equal) where W : struct, IWidth
        {
            equal = false;
            if (!W.Read(c, (int)SegReg.Es, c.Regs[7] & op.AddrMask, out uint b)) return false;
            uint a = W.Get(c, 0);
            c.Lazy.Set(FlagOp.Sub, W.Index, a, b, a - b);
            equal = a == b;
            Advance(c, 7, op.AddrMask, delta);
            return true;
        }

        public static uint Bulk<W>(Cpu c, ref Op op, int delta, uint max) where W : struct, IWidth => 0;
    }

    private struct Ins : IStringOp
    {
        public static bool IsIo => true;
        public static bool Compares => false;

        public static bool Element<W>(Cpu c, ref Op op, int delta, out bool equal) where W : struct, IWidth
        {
            equal = false;
            // The destination is checked for writing before the port is read, so a fault loses no input.
            if (!c.BeginRmw((int)SegReg.Es, c.Regs[7] & op.AddrMask, W.Bytes, out _, out uint linear)) return false;
            c.EndRmw(linear, W.Bytes, c.Io.Read((ushort)c.Regs[2], W.Bytes));
            Advance(c, 7, op.AddrMask, delta);
            return true;
        }

        public static uint Bulk<W>(Cpu c, ref Op op, int delta, uint max) where W : struct, IWidth => 0;
    }

    private struct Outs : IStringOp
    {
        public static bool IsIo => true;
        public static bool Compares => false;

        public static bool Element<W>(Cpu c, ref Op op, int delta, out bool equal) where W : struct, IWidth
        {
            equal = false;
            if (!W.Read(c, op.Seg, c.Regs[6] & op.AddrMask, out uint v)) return false;
            c.Io.Write((ushort)c.Regs[2], W.Bytes, v);
            Advance(c, 6, op.AddrMask, delta);
            return true;
        }

        public static uint Bulk<W>(Cpu c, ref Op op, int delta, uint max) where W : struct, IWidth => 0;
    }

    // ---- Handlers ----

    private static int Delta<W>(Cpu c) where W : struct, IWidth =>
        (c.FlagsRest & (uint)FlagBits.DF) != 0 ? -W.Bytes : W.Bytes;

    /// <summary>Adds to SI/DI/CX (16-bit addresses: the upper half is kept) or ESI/EDI/ECX.</summary>
    private static void Advance(Cpu c, int reg, uint mask, int delta)
    {
        ref uint r = ref c.Regs[reg];
        r = (r & ~mask) | ((r + (uint)delta) & mask);
    }

    private static bool Once<T, W>(Cpu c, ref Op op) where T : struct, IStringOp where W : struct, IWidth =>
        (!T.IsIo || CheckIo<T>(c, ref op)) && T.Element<W>(c, ref op, Delta<W>(c), out _);

    private static bool Repeat<T, W>(Cpu c, ref Op op) where T : struct, IStringOp where W : struct, IWidth
    {
        if (T.IsIo && !CheckIo<T>(c, ref op)) return false;
        uint mask = op.AddrMask;
        int delta = Delta<W>(c);
        uint slice = SliceLength(c), done = 0;
        while (true)
        {
            uint count = c.Regs[1] & mask;
            if (count == 0) break;
            if (done == slice)
            {
                // Back to the run loop (timer, interrupts, budget); the instruction continues from here.
                c.Ticks += done;
                c.Eip = op.Eip;
                c.Aborted = true;
                return false;
            }
            uint n = T.Bulk<W>(c, ref op, delta, Math.Min(count, slice - done));
            if (c.Aborted)
            {
                c.Ticks += done;
                return false;
            }
            if (n != 0)
            {
                Advance(c, 1, mask, -(int)n);
                done += n;
                continue;
            }
            if (!T.Element<W>(c, ref op, delta, out bool equal))
            {
                c.Ticks += done;
                return false;
            }
            Advance(c, 1, mask, -1);
            done++;
            if (T.Compares && equal != (op.Aux == 1)) break; // repe stops on a difference, repne on equality
        }
        if (done > 1) c.Ticks += done - 1; // retiring adds the last tick
        if (done > 1 && c.Ticks + 1 >= NextEvent(c))
        {
            // Its elements took the time to the next timer deadline (or the budget): the block ends here, so the
            // ops after it do not run late into the event, wherever the block happened to start.
            c.Eip = op.NextEip;
            return false;
        }
        return true;
    }

    /// <summary>The tick of the next timer deadline or the budget's end.</summary>
    private static ulong NextEvent(Cpu c) => Math.Min(c.Timer?.NextDeadline ?? ulong.MaxValue, c.Budget);

    /// <summary>Elements this slice may process: up to the next timer deadline or budget end (at least one).</summary>
    private static uint SliceLength(Cpu c)
    {
        ulong end = NextEvent(c);
        ulong left = end > c.Ticks ? end - c.Ticks : 1;
        return (uint)Math.Clamp(left, 1, Slice);
    }

    /// <summary>The I/O permission check, then a VMX I/O exit if the bitmap asks for one (with the string and rep bits).</summary>
    private static bool CheckIo<T>(Cpu c, ref Op op) where T : struct, IStringOp
    {
        ushort port = (ushort)c.Regs[2];
        if (!c.CheckIoPermission(port, op.Size)) return false;
        if (c.Vmx is { } vmx && vmx.IoExits(port, op.Size))
        {
            bool input = typeof(T) == typeof(Ins);
            int seg = input ? (int)SegReg.Es : op.Seg;
            uint offset = c.Regs[input ? 7 : 6] & op.AddrMask;
            return SystemInstructions.Exit(c, ref op, new VmExit
            {
                Reason = VmExitReason.IoInstruction,
                Qualification = new IoQualification(port, op.Size, input, String: true, Rep: op.Aux != 0).Encode(),
                InstructionInfo = (op.AddrMask == 0xFFFF ? 0u : 1u) << 7 | (uint)seg << 15, // address size, segment
                GuestLinearAddress = c.Segment((SegReg)seg).Base + offset,
            });
        }
        return true;
    }

    /// <summary>
    /// How many elements from offset <paramref name="off"/> (at most <paramref name="max"/>, which it lowers)
    /// the fast path reaches within one page and the segment, in the direction of <paramref name="delta"/>;
    /// false when the first element cannot start a run (or faulted: then <see cref="Cpu.Aborted"/> is set).
    /// <paramref name="host"/> is the element's offset in machine memory.
    /// </summary>
    private static bool Run<W>(Cpu c, int seg, uint off, uint mask, int delta, bool write, ref uint max, out int host)
        where W : struct, IWidth
    {
        if (!c.TryTranslateSpan(seg, off, W.Bytes, write, out host, out uint ahead, out uint behind, out _)) return false;
        ahead = (uint)Math.Min(ahead, (ulong)mask - off + 1); // 16-bit offsets wrap at 64 KiB
        if (ahead < (uint)W.Bytes) return false;
        uint n = delta > 0 ? ahead / (uint)W.Bytes : 1 + behind / (uint)W.Bytes;
        if (n < max) max = n;
        return true;
    }
}
