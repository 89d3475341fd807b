using Iced.Intel;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// The read-modify-write exchange instructions that locked code builds on: cmpxchg, xadd, cmpxchg8b
/// (cpuid reports CX8). On this uniprocessor every instruction is atomic, so the lock prefix changes nothing.
/// A memory destination is always written, even when a compare fails, as the processor does (so a
/// read-only destination faults either way).
/// </summary>
internal static unsafe class Atomics
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Cmpxchg:
                return Bind(ref op, in i, &CmpxchgR<W8>, &CmpxchgR<W16>, &CmpxchgR<W32>, &CmpxchgM<W8>, &CmpxchgM<W16>, &CmpxchgM<W32>);
            case Mnemonic.Xadd:
                return Bind(ref op, in i, &XaddR<W8>, &XaddR<W16>, &XaddR<W32>, &XaddM<W8>, &XaddM<W16>, &XaddM<W32>);
            case Mnemonic.Cmpxchg8b when i.Op0Kind == OpKind.Memory:
                op.Exec = &Cmpxchg8b;
                return true;
            default:
                return false;
        }
    }

    private static bool Bind(ref Op op, in Instruction i,
        delegate*<Cpu, ref Op, bool> r8, delegate*<Cpu, ref Op, bool> r16, delegate*<Cpu, ref Op, bool> r32,
        delegate*<Cpu, ref Op, bool> m8, delegate*<Cpu, ref Op, bool> m16, delegate*<Cpu, ref Op, bool> m32)
    {
        var form = Operands.TwoOperand(ref op, in i);
        if (form is not (Form.RR or Form.MR)) return false;
        bool rr = form == Form.RR;
        op.Exec = Operands.Size(in i) switch
        {
            1 => rr ? r8 : m8,
            2 => rr ? r16 : m16,
            4 => rr ? r32 : m32,
            _ => null,
        };
        return op.Exec != null;
    }

    // ---- cmpxchg r/m, r: compare the accumulator with the destination (flags as cmp) ----

    private static bool CmpxchgR<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        uint old = W.Get(c, op.R0), accumulator = W.Get(c, 0);
        c.Lazy.Set(FlagOp.Sub, W.Index, accumulator, old, accumulator - old);
        if (accumulator == old) W.Set(c, op.R0, W.Get(c, op.R1));
        else W.Set(c, 0, old);
        return true;
    }

    private static bool CmpxchgM<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!c.BeginRmw(op.Seg, op.Ea(c), W.Bytes, out uint old, out uint linear)) return false;
        uint accumulator = W.Get(c, 0);
        bool equal = accumulator == old;
        c.EndRmw(linear, W.Bytes, equal ? W.Get(c, op.R1) : old);
        if (!equal) W.Set(c, 0, old);
        c.Lazy.Set(FlagOp.Sub, W.Index, accumulator, old, accumulator - old);
        return true;
    }

    // ---- xadd r/m, r: the register gets the old destination, the destination the sum (flags as add) ----

    private static bool XaddR<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        uint dst = W.Get(c, op.R0), src = W.Get(c, op.R1), sum = dst + src;
        c.Lazy.Set(FlagOp.Add, W.Index, dst, src, sum);
        W.Set(c, op.R1, dst);
        W.Set(c, op.R0, sum); // written last: xadd r, r with the same register leaves the sum
        return true;
    }

    private static bool XaddM<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!c.BeginRmw(op.Seg, op.Ea(c), W.Bytes, out uint dst, out uint linear)) return false;
        uint src = W.Get(c, op.R1), sum = dst + src;
        c.EndRmw(linear, W.Bytes, sum);
        W.Set(c, op.R1, dst);
        c.Lazy.Set(FlagOp.Add, W.Index, dst, src, sum);
        return true;
    }

    // ---- cmpxchg8b m64: compare EDX:EAX with the qword; equal: store ECX:EBX, else load it into EDX:EAX ----

    private static bool Cmpxchg8b(Cpu c, ref Op op)
    {
        uint ea = op.Ea(c);
        // Both halves are checked for writing before either is written.
        if (!c.BeginRmw(op.Seg, ea, 4, out uint low, out uint lowLinear) ||
            !c.BeginRmw(op.Seg, ea + 4, 4, out uint high, out uint highLinear)) return false;
        bool equal = low == c.Regs[0] && high == c.Regs[2];
        c.EndRmw(lowLinear, 4, equal ? c.Regs[3] : low);
        c.EndRmw(highLinear, 4, equal ? c.Regs[1] : high);
        if (!equal) { c.Regs[0] = low; c.Regs[2] = high; }
        uint flags = c.Lazy.Materialize() & ~(uint)FlagBits.ZF;
        c.Lazy.SetKnown(equal ? flags | (uint)FlagBits.ZF : flags);
        return true;
    }
}
