using System.Runtime.CompilerServices;
using Iced.Intel;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// Integer arithmetic and logic: add, or, adc, sbb, and, sub, xor, cmp, test, inc, dec, neg, not.
/// One generic handler per operand form; the operation and width are type parameters.
/// </summary>
internal static unsafe class Arithmetic
{
    public static bool TryBind(ref Op op, in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Add => Binary<Add>(ref op, in i),
        Mnemonic.Or => Binary<Or>(ref op, in i),
        Mnemonic.Adc => Binary<Adc>(ref op, in i),
        Mnemonic.Sbb => Binary<Sbb>(ref op, in i),
        Mnemonic.And => Binary<And>(ref op, in i),
        Mnemonic.Sub => Binary<Sub>(ref op, in i),
        Mnemonic.Xor => Binary<Xor>(ref op, in i),
        Mnemonic.Cmp => Binary<Cmp>(ref op, in i),
        Mnemonic.Test => Binary<Test>(ref op, in i),
        Mnemonic.Inc => Unary<Inc>(ref op, in i),
        Mnemonic.Dec => Unary<Dec>(ref op, in i),
        Mnemonic.Neg => Unary<Neg>(ref op, in i),
        Mnemonic.Not => Unary<Not>(ref op, in i),
        _ => false,
    };

    // ---- Operations ----

    internal interface IBinary
    {
        static abstract bool Writes { get; }
        static abstract uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth;
    }

    private struct Add : IBinary
    {
        public static bool Writes => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth
        {
            uint r = a + b;
            c.Lazy.Set(FlagOp.Add, W.Index, a, b, r);
            return r;
        }
    }

    private struct Adc : IBinary
    {
        public static bool Writes => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth
        {
            uint cin = c.Lazy.CF ? 1u : 0u;
            uint r = a + b + cin;
            c.Lazy.Set(FlagOp.Adc, W.Index, a, b, r);
            c.Lazy.Aux = cin;
            return r;
        }
    }

    private struct Sub : IBinary
    {
        public static bool Writes => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth
        {
            uint r = a - b;
            c.Lazy.Set(FlagOp.Sub, W.Index, a, b, r);
            return r;
        }
    }

    private struct Sbb : IBinary
    {
        public static bool Writes => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth
        {
            uint cin = c.Lazy.CF ? 1u : 0u;
            uint r = a - b - cin;
            c.Lazy.Set(FlagOp.Sbb, W.Index, a, b, r);
            c.Lazy.Aux = cin;
            return r;
        }
    }

    private struct Cmp : IBinary
    {
        public static bool Writes => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth => Sub.Compute<W>(c, a, b);
    }

    private struct And : IBinary
    {
        public static bool Writes => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth
        {
            uint r = a & b;
            c.Lazy.Set(FlagOp.Logic, W.Index, a, b, r);
            return r;
        }
    }

    private struct Test : IBinary
    {
        public static bool Writes => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth => And.Compute<W>(c, a, b);
    }

    private struct Or : IBinary
    {
        public static bool Writes => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth
        {
            uint r = a | b;
            c.Lazy.Set(FlagOp.Logic, W.Index, a, b, r);
            return r;
        }
    }

    private struct Xor : IBinary
    {
        public static bool Writes => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a, uint b) where W : struct, IWidth
        {
            uint r = a ^ b;
            c.Lazy.Set(FlagOp.Logic, W.Index, a, b, r);
            return r;
        }
    }

    internal interface IUnary
    {
        static abstract uint Compute<W>(Cpu c, uint a) where W : struct, IWidth;
    }

    private struct Inc : IUnary
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a) where W : struct, IWidth
        {
            uint cf = c.Lazy.CF ? 1u : 0u;
            uint r = a + 1;
            c.Lazy.Set(FlagOp.Inc, W.Index, a, 1, r);
            c.Lazy.Aux = cf;
            return r;
        }
    }

    private struct Dec : IUnary
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a) where W : struct, IWidth
        {
            uint cf = c.Lazy.CF ? 1u : 0u;
            uint r = a - 1;
            c.Lazy.Set(FlagOp.Dec, W.Index, a, 1, r);
            c.Lazy.Aux = cf;
            return r;
        }
    }

    private struct Neg : IUnary
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a) where W : struct, IWidth
        {
            uint r = 0 - a;
            c.Lazy.Set(FlagOp.Sub, W.Index, 0, a, r);
            return r;
        }
    }

    private struct Not : IUnary
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Compute<W>(Cpu c, uint a) where W : struct, IWidth => ~a;
    }

    // ---- Binding ----

    private static bool Binary<T>(ref Op op, in Instruction i) where T : struct, IBinary
    {
        var form = Operands.TwoOperand(ref op, in i);
        op.Exec = Operands.Size(in i) switch
        {
            1 => Pick<T, W8>(form),
            2 => Pick<T, W16>(form),
            4 => Pick<T, W32>(form),
            _ => null,
        };
        return op.Exec != null;
    }

    private static delegate*<Cpu, ref Op, bool> Pick<T, W>(Form form) where T : struct, IBinary where W : struct, IWidth => form switch
    {
        Form.RR => &RR<T, W>,
        Form.RI => &RI<T, W>,
        Form.RM => &RM<T, W>,
        Form.MR => &MR<T, W>,
        Form.MI => &MI<T, W>,
        _ => null,
    };

    private static bool Unary<T>(ref Op op, in Instruction i) where T : struct, IUnary
    {
        bool register = i.Op0Kind == OpKind.Register;
        if (register) op.R0 = Operands.Index(i.Op0Register);
        op.Exec = Operands.Size(in i) switch
        {
            1 => register ? &UnaryR<T, W8> : &UnaryM<T, W8>,
            2 => register ? &UnaryR<T, W16> : &UnaryM<T, W16>,
            4 => register ? &UnaryR<T, W32> : &UnaryM<T, W32>,
            _ => null,
        };
        return op.Exec != null;
    }

    // ---- Handlers ----

    private static bool RR<T, W>(Cpu c, ref Op op) where T : struct, IBinary where W : struct, IWidth
    {
        uint r = T.Compute<W>(c, W.Get(c, op.R0), W.Get(c, op.R1));
        if (T.Writes) W.Set(c, op.R0, r);
        return true;
    }

    private static bool RI<T, W>(Cpu c, ref Op op) where T : struct, IBinary where W : struct, IWidth
    {
        uint r = T.Compute<W>(c, W.Get(c, op.R0), op.Imm & W.Mask);
        if (T.Writes) W.Set(c, op.R0, r);
        return true;
    }

    private static bool RM<T, W>(Cpu c, ref Op op) where T : struct, IBinary where W : struct, IWidth
    {
        if (!W.Read(c, op.Seg, op.Ea(c), out uint v)) return false;
        uint r = T.Compute<W>(c, W.Get(c, op.R0), v);
        if (T.Writes) W.Set(c, op.R0, r);
        return true;
    }

    private static bool MR<T, W>(Cpu c, ref Op op) where T : struct, IBinary where W : struct, IWidth
        => MemoryDestination<T, W>(c, ref op, W.Get(c, op.R1));

    private static bool MI<T, W>(Cpu c, ref Op op) where T : struct, IBinary where W : struct, IWidth
        => MemoryDestination<T, W>(c, ref op, op.Imm & W.Mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool MemoryDestination<T, W>(Cpu c, ref Op op, uint b) where T : struct, IBinary where W : struct, IWidth
    {
        uint ea = op.Ea(c);
        if (!T.Writes)
        {
            if (!W.Read(c, op.Seg, ea, out uint v)) return false;
            T.Compute<W>(c, v, b);
            return true;
        }
        if (!c.BeginRmw(op.Seg, ea, W.Bytes, out uint old, out uint linear)) return false;
        c.EndRmw(linear, W.Bytes, T.Compute<W>(c, old, b));
        return true;
    }

    private static bool UnaryR<T, W>(Cpu c, ref Op op) where T : struct, IUnary where W : struct, IWidth
    {
        W.Set(c, op.R0, T.Compute<W>(c, W.Get(c, op.R0)));
        return true;
    }

    private static bool UnaryM<T, W>(Cpu c, ref Op op) where T : struct, IUnary where W : struct, IWidth
    {
        if (!c.BeginRmw(op.Seg, op.Ea(c), W.Bytes, out uint old, out uint linear)) return false;
        c.EndRmw(linear, W.Bytes, T.Compute<W>(c, old));
        return true;
    }
}
