using Iced.Intel;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// Bit tests and scans: bt, bts, btr, btc (register and memory destinations, register or immediate bit
/// offsets) and bsf, bsr. tzcnt and lzcnt execute as bsf and bsr: cpuid reports neither BMI1 nor ABM, and on
/// such a processor the F3 prefix is ignored (as on QEMU's qemu32 CPU). popcnt stays #UD (no POPCNT in cpuid).
/// </summary>
internal static unsafe class BitOps
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Bt: return BindTest<Bt>(ref op, in i);
            case Mnemonic.Bts: return BindTest<Bts>(ref op, in i);
            case Mnemonic.Btr: return BindTest<Btr>(ref op, in i);
            case Mnemonic.Btc: return BindTest<Btc>(ref op, in i);
            case Mnemonic.Bsf or Mnemonic.Tzcnt:
                op.Mnemonic = (ushort)Mnemonic.Bsf;
                return BindScan(ref op, in i, &ScanR<W16, Forward>, &ScanR<W32, Forward>, &ScanM<W16, Forward>, &ScanM<W32, Forward>);
            case Mnemonic.Bsr or Mnemonic.Lzcnt:
                op.Mnemonic = (ushort)Mnemonic.Bsr;
                return BindScan(ref op, in i, &ScanR<W16, Reverse>, &ScanR<W32, Reverse>, &ScanM<W16, Reverse>, &ScanM<W32, Reverse>);
            default:
                return false;
        }
    }

    // ---- bt, bts, btr, btc ----

    internal interface IBitTest
    {
        static abstract bool Writes { get; }
        static abstract uint Apply(uint value, uint bit);
    }

    private struct Bt : IBitTest
    {
        public static bool Writes => false;
        public static uint Apply(uint value, uint bit) => value;
    }

    private struct Bts : IBitTest
    {
        public static bool Writes => true;
        public static uint Apply(uint value, uint bit) => value | bit;
    }

    private struct Btr : IBitTest
    {
        public static bool Writes => true;
        public static uint Apply(uint value, uint bit) => value & ~bit;
    }

    private struct Btc : IBitTest
    {
        public static bool Writes => true;
        public static uint Apply(uint value, uint bit) => value ^ bit;
    }

    private static bool BindTest<T>(ref Op op, in Instruction i) where T : struct, IBitTest
    {
        var form = Operands.TwoOperand(ref op, in i);
        int size = Operands.Size(in i);
        if (size != 2 && size != 4) return false;
        bool w32 = size == 4;
        op.Exec = form switch
        {
            Form.RR => w32 ? &TestRR<T, W32> : &TestRR<T, W16>,
            Form.RI => w32 ? &TestRI<T, W32> : &TestRI<T, W16>,
            Form.MR => w32 ? &TestMR<T, W32> : &TestMR<T, W16>,
            Form.MI => w32 ? &TestMI<T, W32> : &TestMI<T, W16>,
            _ => null,
        };
        return op.Exec != null;
    }

    /// <summary>
    /// CF becomes the tested bit; ZF is unchanged. For the other flags (undefined) this follows QEMU 7.2 when
    /// the previous flag-setting instruction is in the same translation block: after an arithmetic result,
    /// flags become those of a right shift of that result's width (SF, ZF, PF kept, AF cleared, OF from the
    /// shifted value); after flags set explicitly, every flag but CF is kept.
    /// </summary>
    private static void SetFlags(Cpu c, uint value, int bit)
    {
        ref LazyFlags f = ref c.Lazy;
        if (f.Op == FlagOp.Known)
        {
            f.SetKnown((f.Aux & ~(uint)FlagBits.CF) | ((value >> bit) & 1));
            return;
        }
        f.Kind = LazyFlags.KindOf(FlagOp.Sar, f.Kind & 3);
        f.Src = value >> bit;
    }

    private static bool TestRR<T, W>(Cpu c, ref Op op) where T : struct, IBitTest where W : struct, IWidth
    {
        uint value = W.Get(c, op.R0);
        int bit = (int)(W.Get(c, op.R1) & (8u * (uint)W.Bytes - 1));
        if (T.Writes) W.Set(c, op.R0, T.Apply(value, 1u << bit));
        SetFlags(c, value, bit);
        return true;
    }

    private static bool TestRI<T, W>(Cpu c, ref Op op) where T : struct, IBitTest where W : struct, IWidth
    {
        uint value = W.Get(c, op.R0);
        int bit = (int)(op.Imm & (8u * (uint)W.Bytes - 1));
        if (T.Writes) W.Set(c, op.R0, T.Apply(value, 1u << bit));
        SetFlags(c, value, bit);
        return true;
    }

    /// <summary>A register bit offset addresses a bit string: the signed offset selects the word or dword too.</summary>
    private static bool TestMR<T, W>(Cpu c, ref Op op) where T : struct, IBitTest where W : struct, IWidth
    {
        uint offset = W.Get(c, op.R1);
        int signed = W.Bytes == 2 ? (short)offset : (int)offset;
        int shift = W.Bytes == 2 ? 4 : 5;
        uint ea = (op.Ea(c) + (uint)((signed >> shift) * W.Bytes)) & op.AddrMask;
        return Memory<T, W>(c, ref op, ea, (int)(offset & (8u * (uint)W.Bytes - 1)));
    }

    private static bool TestMI<T, W>(Cpu c, ref Op op) where T : struct, IBitTest where W : struct, IWidth =>
        Memory<T, W>(c, ref op, op.Ea(c), (int)(op.Imm & (8u * (uint)W.Bytes - 1)));

    private static bool Memory<T, W>(Cpu c, ref Op op, uint ea, int bit) where T : struct, IBitTest where W : struct, IWidth
    {
        uint value;
        if (!T.Writes)
        {
            if (!W.Read(c, op.Seg, ea, out value)) return false;
        }
        else
        {
            if (!c.BeginRmw(op.Seg, ea, W.Bytes, out value, out uint linear)) return false;
            c.EndRmw(linear, W.Bytes, T.Apply(value, 1u << bit));
        }
        SetFlags(c, value, bit);
        return true;
    }

    // ---- bsf, bsr ----

    internal interface IScan
    {
        /// <summary>Index of the first set bit in a non-zero value.</summary>
        static abstract uint Find(uint value);
    }

    private struct Forward : IScan
    {
        public static uint Find(uint value) => (uint)System.Numerics.BitOperations.TrailingZeroCount(value);
    }

    private struct Reverse : IScan
    {
        public static uint Find(uint value) => (uint)System.Numerics.BitOperations.Log2(value);
    }

    private static bool BindScan(ref Op op, in Instruction i,
        delegate*<Cpu, ref Op, bool> r16, delegate*<Cpu, ref Op, bool> r32,
        delegate*<Cpu, ref Op, bool> m16, delegate*<Cpu, ref Op, bool> m32)
    {
        var form = Operands.TwoOperand(ref op, in i);
        bool w32 = i.Op0Register.GetSize() == 4;
        op.Exec = form switch
        {
            Form.RR => w32 ? r32 : r16,
            Form.RM => w32 ? m32 : m16,
            _ => null,
        };
        return op.Exec != null;
    }

    /// <summary>
    /// ZF (and, as QEMU computes them, SF and PF) come from the source, CF = OF = AF = 0. A zero source leaves
    /// the destination unchanged, as real processors and QEMU do.
    /// </summary>
    private static void Scan<W, S>(Cpu c, ref Op op, uint source) where W : struct, IWidth where S : struct, IScan
    {
        source &= W.Mask;
        c.Lazy.Set(FlagOp.Logic, W.Index, 0, 0, source);
        if (source != 0) W.Set(c, op.R0, S.Find(source));
    }

    private static bool ScanR<W, S>(Cpu c, ref Op op) where W : struct, IWidth where S : struct, IScan
    {
        Scan<W, S>(c, ref op, W.Get(c, op.R1));
        return true;
    }

    private static bool ScanM<W, S>(Cpu c, ref Op op) where W : struct, IWidth where S : struct, IScan
    {
        if (!W.Read(c, op.Seg, op.Ea(c), out uint source)) return false;
        Scan<W, S>(c, ref op, source);
        return true;
    }
}
