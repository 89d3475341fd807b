namespace VirtBench.Machine.Cpu;

/// <summary>EFLAGS bits.</summary>
[Flags]
public enum FlagBits : uint
{
    /// <summary>Carry.</summary>
    CF = 1 << 0,
    /// <summary>Always one.</summary>
    Reserved1 = 1 << 1,
    /// <summary>Parity.</summary>
    PF = 1 << 2,
    /// <summary>Auxiliary carry.</summary>
    AF = 1 << 4,
    /// <summary>Zero.</summary>
    ZF = 1 << 6,
    /// <summary>Sign.</summary>
    SF = 1 << 7,
    /// <summary>Trap (single step).</summary>
    TF = 1 << 8,
    /// <summary>Interrupt enable.</summary>
    IF = 1 << 9,
    /// <summary>Direction.</summary>
    DF = 1 << 10,
    /// <summary>Overflow.</summary>
    OF = 1 << 11,
    /// <summary>I/O privilege level (two bits).</summary>
    IOPL = 3 << 12,
    /// <summary>Nested task.</summary>
    NT = 1 << 14,
    /// <summary>Resume.</summary>
    RF = 1 << 16,
    /// <summary>Virtual-8086 mode.</summary>
    VM = 1 << 17,
    /// <summary>Alignment check.</summary>
    AC = 1 << 18,
    /// <summary>CPUID available.</summary>
    ID = 1 << 21,
    /// <summary>The six arithmetic flags (OSZAPC), which the CPU computes lazily.</summary>
    Arithmetic = CF | PF | AF | ZF | SF | OF,
}

/// <summary>
/// The last flag-setting operation, from which the arithmetic flags are computed on demand (lazy flags,
/// as in Bochs and QEMU). Combined with the operand width into <see cref="LazyFlags.Kind"/>.
/// </summary>
internal enum FlagOp
{
    Add, Adc, Sub, Sbb, Logic, Inc, Dec, Shl, Shr, Sar, Mul,
    /// <summary>Flags were set explicitly (popf, sahf, rotates...): Aux holds the OSZAPC bits.</summary>
    Known,
}

/// <summary>
/// Lazy arithmetic flags: the operation, its width and operands, from which CF, PF, AF, ZF, SF and OF are
/// derived only when something reads them. Undefined flags follow QEMU.
/// </summary>
internal struct LazyFlags
{
    /// <summary>(FlagOp &lt;&lt; 2) | width (0: 8, 1: 16, 2: 32 bits).</summary>
    public int Kind;
    public uint Res, Dst, Src;
    /// <summary>Carry-in (adc/sbb), preserved CF (inc/dec), overflow (mul), or the OSZAPC bits (Known).</summary>
    public uint Aux;

    private static ReadOnlySpan<uint> Masks => [0xFF, 0xFFFF, 0xFFFF_FFFF, 0];
    private static ReadOnlySpan<uint> Signs => [0x80, 0x8000, 0x8000_0000, 0];

    public readonly FlagOp Op => (FlagOp)(Kind >> 2);
    private readonly uint Mask => Masks[Kind & 3];
    private readonly uint Sign => Signs[Kind & 3];

    public static int KindOf(FlagOp op, int width) => ((int)op << 2) | width;

    public void Set(FlagOp op, int width, uint dst, uint src, uint res)
    {
        Kind = ((int)op << 2) | width;
        Dst = dst; Src = src; Res = res;
    }

    public void SetKnown(uint osZapc)
    {
        Kind = (int)FlagOp.Known << 2;
        Aux = osZapc & (uint)FlagBits.Arithmetic;
    }

    public readonly bool ZF => Op == FlagOp.Known ? (Aux & (uint)FlagBits.ZF) != 0 : (Res & Mask) == 0;

    public readonly bool SF => Op == FlagOp.Known ? (Aux & (uint)FlagBits.SF) != 0 : (Res & Sign) != 0;

    public readonly bool PF => Op == FlagOp.Known ? (Aux & (uint)FlagBits.PF) != 0 : (System.Numerics.BitOperations.PopCount(Res & 0xFF) & 1) == 0;

    public readonly bool CF
    {
        get
        {
            uint m = Mask;
            switch (Op)
            {
                case FlagOp.Add: return (Res & m) < (Dst & m);
                case FlagOp.Adc: return Aux != 0 ? (Res & m) <= (Dst & m) : (Res & m) < (Dst & m);
                case FlagOp.Sub: return (Dst & m) < (Src & m);
                case FlagOp.Sbb: return Aux != 0 ? (Dst & m) <= (Src & m) : (Dst & m) < (Src & m);
                case FlagOp.Inc: case FlagOp.Dec: return Aux != 0;
                case FlagOp.Shl: return (Src & Sign) != 0;
                case FlagOp.Shr: case FlagOp.Sar: return (Src & 1) != 0;
                case FlagOp.Mul: return Aux != 0;
                case FlagOp.Known: return (Aux & (uint)FlagBits.CF) != 0;
                default: return false; // Logic
            }
        }
    }

    public readonly bool OF
    {
        get
        {
            uint sign = Sign;
            switch (Op)
            {
                case FlagOp.Add: case FlagOp.Adc: return ((Dst ^ Res) & (Src ^ Res) & sign) != 0;
                case FlagOp.Sub: case FlagOp.Sbb: return ((Dst ^ Src) & (Dst ^ Res) & sign) != 0;
                case FlagOp.Inc: return (Res & Mask) == sign;
                case FlagOp.Dec: return (Res & Mask) == sign - 1;
                case FlagOp.Shl: case FlagOp.Shr: case FlagOp.Sar: return ((Src ^ Res) & sign) != 0;
                case FlagOp.Mul: return Aux != 0;
                case FlagOp.Known: return (Aux & (uint)FlagBits.OF) != 0;
                default: return false; // Logic
            }
        }
    }

    public readonly bool AF => Op switch
    {
        FlagOp.Add or FlagOp.Adc or FlagOp.Sub or FlagOp.Sbb or FlagOp.Inc or FlagOp.Dec => ((Dst ^ Src ^ Res) & 0x10) != 0,
        FlagOp.Known => (Aux & (uint)FlagBits.AF) != 0,
        _ => false,
    };

    /// <summary>All six arithmetic flags as EFLAGS bits.</summary>
    public readonly uint Materialize()
    {
        if (Op == FlagOp.Known) return Aux;
        uint f = 0;
        if (CF) f |= (uint)FlagBits.CF;
        if (PF) f |= (uint)FlagBits.PF;
        if (AF) f |= (uint)FlagBits.AF;
        if (ZF) f |= (uint)FlagBits.ZF;
        if (SF) f |= (uint)FlagBits.SF;
        if (OF) f |= (uint)FlagBits.OF;
        return f;
    }

    /// <summary>Evaluates an x86 condition code (0 = O ... 15 = G, the low nibble of Jcc/SETcc/CMOVcc).</summary>
    public readonly bool Condition(int cc)
    {
        var op = Op;
        bool r;
        if (op == FlagOp.Sub)
        {
            // cmp/sub, the common case: compare the operands directly instead of building flags.
            uint m = Mask;
            uint a = Dst & m, b = Src & m;
            int unused = 32 - (8 << (Kind & 3)); // bits above the operand width
            int sa = (int)(a << unused) >> unused, sb = (int)(b << unused) >> unused;
            switch (cc >> 1)
            {
                case 1: r = a < b; break;
                case 2: r = a == b; break;
                case 3: r = a <= b; break;
                case 6: r = sa < sb; break;
                case 7: r = sa <= sb; break;
                default: return General(cc);
            }
            return r ^ ((cc & 1) != 0);
        }
        if (op == FlagOp.Logic)
        {
            // and/or/xor/test: CF = OF = 0.
            uint res = Res & Mask;
            bool negative = (Res & Sign) != 0;
            switch (cc >> 1)
            {
                case 0: case 1: r = false; break;
                case 2: case 3: r = res == 0; break;
                case 4: case 6: r = negative; break;
                case 7: r = res == 0 || negative; break;
                default: return General(cc);
            }
            return r ^ ((cc & 1) != 0);
        }
        if ((cc >> 1) == 2 && op != FlagOp.Known) return ((Res & Mask) == 0) ^ ((cc & 1) != 0);
        return General(cc);
    }

    private readonly bool General(int cc)
    {
        bool r = (cc >> 1) switch
        {
            0 => OF,
            1 => CF,
            2 => ZF,
            3 => CF || ZF,
            4 => SF,
            5 => PF,
            6 => SF != OF,
            _ => ZF || SF != OF,
        };
        return r ^ ((cc & 1) != 0);
    }
}
