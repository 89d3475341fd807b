using Iced.Intel;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// Multiplication and division: mul, imul (one, two and three operands), div, idiv.
/// Multiplications set CF = OF = "the product does not fit the destination" and, as QEMU does for the
/// flags Intel leaves undefined, SF, ZF and PF from the low half of the product with AF clear.
/// Divisions raise #DE on a zero divisor or a quotient that does not fit, and leave the flags unchanged
/// (as QEMU does).
/// </summary>
internal static unsafe class MulDiv
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Mul: return BindAccumulator(ref op, in i, &Mul<W8>, &Mul<W16>, &Mul<W32>);
            case Mnemonic.Div: return BindAccumulator(ref op, in i, &Div<W8>, &Div<W16>, &Div<W32>);
            case Mnemonic.Idiv: return BindAccumulator(ref op, in i, &Idiv<W8>, &Idiv<W16>, &Idiv<W32>);
            case Mnemonic.Imul when i.OpCount == 1: return BindAccumulator(ref op, in i, &Imul<W8>, &Imul<W16>, &Imul<W32>);
            case Mnemonic.Imul: return BindImul(ref op, in i);
            default: return false;
        }
    }

    /// <summary>One explicit operand (register R1 when Aux = 1, else memory); the accumulator is implicit.</summary>
    private static bool BindAccumulator(ref Op op, in Instruction i,
        delegate*<Cpu, ref Op, bool> w8, delegate*<Cpu, ref Op, bool> w16, delegate*<Cpu, ref Op, bool> w32)
    {
        if (i.Op0Kind == OpKind.Register) { op.R1 = Operands.Index(i.Op0Register); op.Aux = 1; }
        op.Exec = Operands.Size(in i) switch { 1 => w8, 2 => w16, 4 => w32, _ => null };
        return op.Exec != null;
    }

    /// <summary>imul r, r/m (Aux bit 1 clear: the other factor is R0) or imul r, r/m, imm (Aux bit 1 set: Imm).</summary>
    private static bool BindImul(ref Op op, in Instruction i)
    {
        op.R0 = Operands.Index(i.Op0Register);
        if (i.Op1Kind == OpKind.Register) { op.R1 = Operands.Index(i.Op1Register); op.Aux = 1; }
        if (i.OpCount == 3) { op.Imm = (uint)i.GetImmediate(2); op.Aux |= 2; }
        op.Exec = i.Op0Register.GetSize() switch { 2 => &ImulTwo<W16>, 4 => &ImulTwo<W32>, _ => null };
        return op.Exec != null;
    }

    private static bool Source<W>(Cpu c, ref Op op, out uint v) where W : struct, IWidth
    {
        if (op.Aux % 2 == 1) { v = W.Get(c, op.R1); return true; }
        return W.Read(c, op.Seg, op.Ea(c), out v);
    }

    /// <summary>Sets the multiply flags from the low half of the product and whether the product overflowed it.</summary>
    private static void SetFlags<W>(Cpu c, uint low, bool overflow) where W : struct, IWidth
    {
        c.Lazy.Set(FlagOp.Mul, W.Index, 0, 0, low);
        c.Lazy.Aux = overflow ? 1u : 0u;
    }

    /// <summary>Writes a double-width result: AX (8-bit), DX:AX (16-bit) or EDX:EAX (32-bit).</summary>
    private static void SetAccumulatorPair<W>(Cpu c, ulong value) where W : struct, IWidth
    {
        if (W.Bytes == 1) W16.Set(c, 0, (uint)value);
        else
        {
            W.Set(c, 0, (uint)value);
            W.Set(c, 2, (uint)(value >> (8 * W.Bytes)));
        }
    }

    /// <summary>Reads the double-width dividend: AX, DX:AX or EDX:EAX.</summary>
    private static ulong AccumulatorPair<W>(Cpu c) where W : struct, IWidth =>
        W.Bytes == 1 ? W16.Get(c, 0) : ((ulong)W.Get(c, 2) << (8 * W.Bytes)) | W.Get(c, 0);

    private static long SignExtend(ulong v, int bits) => (long)(v << (64 - bits)) >> (64 - bits);

    private static bool Mul<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!Source<W>(c, ref op, out uint v)) return false;
        ulong product = (ulong)W.Get(c, 0) * v;
        SetAccumulatorPair<W>(c, product);
        SetFlags<W>(c, (uint)product & W.Mask, product >> (8 * W.Bytes) != 0);
        return true;
    }

    private static bool Imul<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!Source<W>(c, ref op, out uint v)) return false;
        int bits = 8 * W.Bytes;
        long product = SignExtend(W.Get(c, 0), bits) * SignExtend(v, bits);
        SetAccumulatorPair<W>(c, (ulong)product);
        SetFlags<W>(c, (uint)product & W.Mask, product != SignExtend((ulong)product, bits));
        return true;
    }

    private static bool ImulTwo<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!Source<W>(c, ref op, out uint v)) return false;
        int bits = 8 * W.Bytes;
        uint other = (op.Aux & 2) != 0 ? op.Imm : W.Get(c, op.R0);
        long product = SignExtend(other & W.Mask, bits) * SignExtend(v, bits);
        W.Set(c, op.R0, (uint)product);
        SetFlags<W>(c, (uint)product & W.Mask, product != SignExtend((ulong)product, bits));
        return true;
    }

    private static bool Div<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!Source<W>(c, ref op, out uint divisor)) return false;
        if (divisor == 0) return c.DivideError();
        ulong dividend = AccumulatorPair<W>(c);
        ulong quotient = dividend / divisor;
        if (quotient > W.Mask) return c.DivideError();
        SetQuotientRemainder<W>(c, (uint)quotient, (uint)(dividend % divisor));
        return true;
    }

    private static bool Idiv<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!Source<W>(c, ref op, out uint v)) return false;
        int bits = 8 * W.Bytes;
        long divisor = SignExtend(v, bits);
        if (divisor == 0) return c.DivideError();
        long dividend = SignExtend(AccumulatorPair<W>(c), 2 * bits);
        if (dividend == long.MinValue && divisor == -1) return c.DivideError(); // the quotient cannot fit (and .NET would throw)
        long quotient = dividend / divisor;
        if (quotient != SignExtend((ulong)quotient, bits)) return c.DivideError();
        SetQuotientRemainder<W>(c, (uint)quotient, (uint)(dividend % divisor));
        return true;
    }

    /// <summary>AL/AH, AX/DX or EAX/EDX.</summary>
    private static void SetQuotientRemainder<W>(Cpu c, uint quotient, uint remainder) where W : struct, IWidth
    {
        if (W.Bytes == 1) W16.Set(c, 0, (quotient & 0xFF) | ((remainder & 0xFF) << 8));
        else
        {
            W.Set(c, 0, quotient);
            W.Set(c, 2, remainder);
        }
    }
}
