using System.Runtime.CompilerServices;
using Iced.Intel;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// Shifts and rotates: shl/sal, shr, sar, rol, ror, rcl, rcr (by 1, CL or imm8) and shld, shrd.
/// The count is masked to 5 bits; a masked count of 0 changes no flag. Flags for counts above 1, which
/// Intel leaves undefined, are QEMU 7.2's: CF is the last bit shifted out, OF is computed from the value
/// shifted by count - 1 and the result (as for a count of 1), AF is cleared by shifts.
/// </summary>
internal static unsafe class Shifts
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Shl or Mnemonic.Sal: return Bind<Shl>(ref op, in i);
            case Mnemonic.Shr: return Bind<Shr>(ref op, in i);
            case Mnemonic.Sar: return Bind<Sar>(ref op, in i);
            case Mnemonic.Rol: return Bind<Rol>(ref op, in i);
            case Mnemonic.Ror: return Bind<Ror>(ref op, in i);
            case Mnemonic.Rcl: return Bind<Rcl>(ref op, in i);
            case Mnemonic.Rcr: return Bind<Rcr>(ref op, in i);
            case Mnemonic.Shld: return BindDouble<Shld>(ref op, in i);
            case Mnemonic.Shrd: return BindDouble<Shrd>(ref op, in i);
            default: return false;
        }
    }

    // ---- Operations: Compute gets a masked count of 1..31 and sets the flags ----

    internal interface IShift
    {
        static abstract uint Compute<W>(Cpu c, uint value, int count) where W : struct, IWidth;
    }

    private struct Shl : IShift
    {
        public static uint Compute<W>(Cpu c, uint value, int count) where W : struct, IWidth
        {
            uint last = value << (count - 1); // the bit shifted out last is its top bit
            uint r = last << 1;
            c.Lazy.Set(FlagOp.Shl, W.Index, value, last, r);
            return r;
        }
    }

    private struct Shr : IShift
    {
        public static uint Compute<W>(Cpu c, uint value, int count) where W : struct, IWidth
        {
            value &= W.Mask;
            uint last = value >> (count - 1); // the bit shifted out last is its bit 0
            uint r = last >> 1;
            c.Lazy.Set(FlagOp.Shr, W.Index, value, last, r);
            return r;
        }
    }

    private struct Sar : IShift
    {
        public static uint Compute<W>(Cpu c, uint value, int count) where W : struct, IWidth
        {
            int unused = 32 - 8 * W.Bytes;
            int signed = (int)(value << unused) >> unused;
            uint last = (uint)(signed >> (count - 1));
            uint r = (uint)(signed >> count);
            c.Lazy.Set(FlagOp.Sar, W.Index, value, last, r);
            return r;
        }
    }

    private struct Rol : IShift
    {
        public static uint Compute<W>(Cpu c, uint value, int count) where W : struct, IWidth
        {
            int bits = 8 * W.Bytes, n = count & (bits - 1);
            value &= W.Mask;
            uint r = n == 0 ? value : ((value << n) | (value >> (bits - n))) & W.Mask;
            uint cf = r & 1;
            SetCarryOverflow(c, cf, (r >> (bits - 1)) ^ cf);
            return r;
        }
    }

    private struct Ror : IShift
    {
        public static uint Compute<W>(Cpu c, uint value, int count) where W : struct, IWidth
        {
            int bits = 8 * W.Bytes, n = count & (bits - 1);
            value &= W.Mask;
            uint r = n == 0 ? value : ((value >> n) | (value << (bits - n))) & W.Mask;
            uint cf = r >> (bits - 1);
            SetCarryOverflow(c, cf, cf ^ ((r >> (bits - 2)) & 1));
            return r;
        }
    }

    private struct Rcl : IShift
    {
        public static uint Compute<W>(Cpu c, uint value, int count) where W : struct, IWidth
        {
            int bits = 8 * W.Bytes, n = count % (bits + 1);
            if (n == 0) return value; // a rotate through all bits and CF: nothing changes, flags included
            value &= W.Mask;
            ulong all = value | ((ulong)(c.Lazy.CF ? 1u : 0u) << bits); // CF:value, bits + 1 wide
            ulong r = ((all << n) | (all >> (bits + 1 - n))) & ((2ul << bits) - 1);
            uint result = (uint)r & W.Mask;
            SetCarryOverflow(c, (uint)(r >> bits), ((value ^ result) >> (bits - 1)) & 1);
            return result;
        }
    }

    private struct Rcr : IShift
    {
        public static uint Compute<W>(Cpu c, uint value, int count) where W : struct, IWidth
        {
            int bits = 8 * W.Bytes, n = count % (bits + 1);
            if (n == 0) return value;
            value &= W.Mask;
            ulong all = value | ((ulong)(c.Lazy.CF ? 1u : 0u) << bits);
            ulong r = ((all >> n) | (all << (bits + 1 - n))) & ((2ul << bits) - 1);
            uint result = (uint)r & W.Mask;
            SetCarryOverflow(c, (uint)(r >> bits), ((value ^ result) >> (bits - 1)) & 1);
            return result;
        }
    }

    /// <summary>Rotates change only CF and OF.</summary>
    private static void SetCarryOverflow(Cpu c, uint cf, uint of)
    {
        uint f = c.Lazy.Materialize() & ~(uint)(FlagBits.CF | FlagBits.OF);
        c.Lazy.SetKnown(f | cf | (of << 11));
    }

    // ---- Double-precision shifts: Compute gets the destination, the source register and a count of 1..31 ----

    internal interface IDoubleShift
    {
        static abstract uint Compute<W>(Cpu c, uint dst, uint src, int count) where W : struct, IWidth;
    }

    private struct Shld : IDoubleShift
    {
        public static uint Compute<W>(Cpu c, uint dst, uint src, int count) where W : struct, IWidth
        {
            dst &= W.Mask;
            uint r, last;
            if (W.Bytes == 2)
            {
                // 16-bit counts above 16 shift dst:src:dst, as Intel processors (and QEMU) do.
                uint srcDst = (src << 16) | dst;
                last = (dst << (count - 1)) | (count == 1 ? srcDst : srcDst >> (33 - count));
                r = (dst << count) | (srcDst >> (32 - count));
            }
            else
            {
                last = dst << (count - 1);
                r = (dst << count) | (src >> (32 - count));
            }
            c.Lazy.Set(FlagOp.Shl, W.Index, dst, last, r);
            return r;
        }
    }

    private struct Shrd : IDoubleShift
    {
        public static uint Compute<W>(Cpu c, uint dst, uint src, int count) where W : struct, IWidth
        {
            dst &= W.Mask;
            uint r, last;
            if (W.Bytes == 2)
            {
                uint srcDst = ((src & 0xFFFF) << 16) | dst;
                last = srcDst >> (count - 1);
                r = (srcDst >> count) | (dst << (32 - count));
            }
            else
            {
                last = dst >> (count - 1);
                r = (dst >> count) | (src << (32 - count));
            }
            c.Lazy.Set(FlagOp.Shr, W.Index, dst, last, r);
            return r;
        }
    }

    // ---- Binding: R0 or the memory operand is the destination; the count is Imm, or CL when Aux = 1 ----

    private static bool Bind<T>(ref Op op, in Instruction i) where T : struct, IShift
    {
        if (!BindCount(ref op, in i, 1)) return false;
        bool register = i.Op0Kind == OpKind.Register;
        if (register) op.R0 = Operands.Index(i.Op0Register);
        op.Exec = Operands.Size(in i) switch
        {
            1 => register ? &ShiftR<T, W8> : &ShiftM<T, W8>,
            2 => register ? &ShiftR<T, W16> : &ShiftM<T, W16>,
            4 => register ? &ShiftR<T, W32> : &ShiftM<T, W32>,
            _ => null,
        };
        return op.Exec != null;
    }

    private static bool BindDouble<T>(ref Op op, in Instruction i) where T : struct, IDoubleShift
    {
        if (!BindCount(ref op, in i, 2)) return false;
        bool register = i.Op0Kind == OpKind.Register;
        if (register) op.R0 = Operands.Index(i.Op0Register);
        op.R1 = Operands.Index(i.Op1Register);
        op.Exec = Operands.Size(in i) switch
        {
            2 => register ? &DoubleR<T, W16> : &DoubleM<T, W16>,
            4 => register ? &DoubleR<T, W32> : &DoubleM<T, W32>,
            _ => null,
        };
        return op.Exec != null;
    }

    private static bool BindCount(ref Op op, in Instruction i, int operand)
    {
        if (i.GetOpKind(operand) == OpKind.Register)
        {
            if (i.GetOpRegister(operand) != Register.CL) return false;
            op.Aux = 1;
            return true;
        }
        if (!Operands.IsImmediate(i.GetOpKind(operand))) return false;
        op.Imm = (uint)i.GetImmediate(operand);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Count(Cpu c, ref Op op) => (int)((op.Aux == 1 ? c.Regs[1] : op.Imm) & 0x1F);

    // ---- Handlers ----

    private static bool ShiftR<T, W>(Cpu c, ref Op op) where T : struct, IShift where W : struct, IWidth
    {
        int count = Count(c, ref op);
        if (count != 0) W.Set(c, op.R0, T.Compute<W>(c, W.Get(c, op.R0), count));
        return true;
    }

    private static bool ShiftM<T, W>(Cpu c, ref Op op) where T : struct, IShift where W : struct, IWidth
    {
        // The destination is read and written back even for a count of 0 (so a read-only page faults), as QEMU does.
        if (!c.BeginRmw(op.Seg, op.Ea(c), W.Bytes, out uint value, out uint linear)) return false;
        int count = Count(c, ref op);
        c.EndRmw(linear, W.Bytes, count == 0 ? value : T.Compute<W>(c, value, count));
        return true;
    }

    private static bool DoubleR<T, W>(Cpu c, ref Op op) where T : struct, IDoubleShift where W : struct, IWidth
    {
        int count = Count(c, ref op);
        if (count != 0) W.Set(c, op.R0, T.Compute<W>(c, W.Get(c, op.R0), W.Get(c, op.R1), count));
        return true;
    }

    private static bool DoubleM<T, W>(Cpu c, ref Op op) where T : struct, IDoubleShift where W : struct, IWidth
    {
        if (!c.BeginRmw(op.Seg, op.Ea(c), W.Bytes, out uint value, out uint linear)) return false;
        int count = Count(c, ref op);
        c.EndRmw(linear, W.Bytes, count == 0 ? value : T.Compute<W>(c, value, W.Get(c, op.R1), count));
        return true;
    }
}
