using Iced.Intel;
using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// Segment registers: mov to and from them, push and pop, the far-pointer loads lds/les/lfs/lgs/lss, and arpl.
/// Reading CS or SS (mov, push) is sensitive: at CPL &gt; 0 it reveals the real privilege level.
/// </summary>
internal static unsafe class SegmentRegisters
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Mov when i.Op0Kind == OpKind.Register && i.Op0Register.IsSegmentRegister():
                op.Aux = Operands.SegmentIndex(i.Op0Register);
                if (i.Op1Kind == OpKind.Register) { op.R1 = Operands.Index(i.Op1Register); op.Exec = &MovToSegR; }
                else op.Exec = &MovToSegM;
                op.EndsBlock = op.Aux == (byte)SegReg.Ss; // ops read segments when they run; only mov ss (its interrupt shadow) ends the block
                return true;
            case Mnemonic.Mov when i.Op1Kind == OpKind.Register && i.Op1Register.IsSegmentRegister():
                op.Aux = Operands.SegmentIndex(i.Op1Register);
                if (i.Op0Kind == OpKind.Register)
                {
                    op.R0 = Operands.Index(i.Op0Register);
                    op.Size = (byte)i.Op0Register.GetSize();
                    op.Exec = &MovFromSegR;
                }
                else op.Exec = &MovFromSegM;
                return true;
            case Mnemonic.Push when i.Op0Kind == OpKind.Register && i.Op0Register.IsSegmentRegister():
                op.Aux = Operands.SegmentIndex(i.Op0Register);
                op.Size = (byte)-i.StackPointerIncrement;
                op.Exec = &PushSeg;
                return true;
            case Mnemonic.Pop when i.Op0Kind == OpKind.Register && i.Op0Register.IsSegmentRegister():
                op.Aux = Operands.SegmentIndex(i.Op0Register);
                op.Size = (byte)i.StackPointerIncrement;
                op.Exec = &PopSeg;
                op.EndsBlock = op.Aux == (byte)SegReg.Ss;
                return true;
            case Mnemonic.Arpl:
            {
                var form = Operands.TwoOperand(ref op, in i);
                if (form is not (Form.RR or Form.MR)) return false;
                op.Exec = form == Form.RR ? &ArplR : &ArplM;
                return true;
            }
            case Mnemonic.Lds or Mnemonic.Les or Mnemonic.Lfs or Mnemonic.Lgs or Mnemonic.Lss:
                op.R0 = Operands.Index(i.Op0Register);
                op.Size = (byte)i.Op0Register.GetSize();
                op.Aux = (byte)(i.Mnemonic switch
                {
                    Mnemonic.Lds => SegReg.Ds, Mnemonic.Les => SegReg.Es, Mnemonic.Lfs => SegReg.Fs,
                    Mnemonic.Lgs => SegReg.Gs, _ => SegReg.Ss,
                });
                op.Exec = &LoadFarPointer;
                op.EndsBlock = i.Mnemonic == Mnemonic.Lss;
                return true;
            default:
                return false;
        }
    }

    private static bool Load(Cpu c, int seg, uint selector)
    {
        if (seg == (int)SegReg.Cs) return c.InvalidOpcode();
        if (!c.LoadDataSegment((SegReg)seg, (ushort)selector)) return false;
        if (seg == (int)SegReg.Ss) c.SetInterruptShadow(GuestInterruptibility.BlockingByMovSs);
        return true;
    }

    private static bool MovToSegR(Cpu c, ref Op op) => Load(c, op.Aux, c.Regs[op.R1]);

    private static bool MovToSegM(Cpu c, ref Op op) => c.Read16(op.Seg, op.Ea(c), out uint v) && Load(c, op.Aux, v);

    private static bool ReadsSensitive(Cpu c, ref Op op) =>
        op.Aux is not ((byte)SegReg.Cs or (byte)SegReg.Ss) || c.Sensitive(ref op);

    private static bool MovFromSegR(Cpu c, ref Op op)
    {
        if (!ReadsSensitive(c, ref op)) return false;
        uint sel = c.Segs[op.Aux].Selector;
        if (op.Size == 4) c.Regs[op.R0] = sel; // zero-extended into a 32-bit register
        else W16.Set(c, op.R0, sel);
        return true;
    }

    private static bool MovFromSegM(Cpu c, ref Op op) =>
        ReadsSensitive(c, ref op) && c.Write16(op.Seg, op.Ea(c), c.Segs[op.Aux].Selector);

    private static bool PushSeg(Cpu c, ref Op op)
    {
        if (!ReadsSensitive(c, ref op)) return false;
        // A 32-bit push writes the selector zero-extended, as QEMU does (some processors write only the low word).
        return c.Push(c.Segs[op.Aux].Selector, op.Size);
    }

    private static bool PopSeg(Cpu c, ref Op op)
    {
        if (!c.PeekStack(0, op.Size, out uint v)) return false;
        if (!Load(c, op.Aux, v)) return false;
        c.Regs[4] += op.Size;
        return true;
    }

    private static bool LoadFarPointer(Cpu c, ref Op op)
    {
        uint ea = op.Ea(c);
        if (!c.Read(op.Seg, ea, op.Size, out uint offset) || !c.Read16(op.Seg, ea + op.Size, out uint selector)) return false;
        if (!Load(c, op.Aux, selector)) return false;
        if (op.Size == 4) c.Regs[op.R0] = offset; else W16.Set(c, op.R0, offset);
        return true;
    }

    // ---- arpl r/m16, r16: raise the destination selector's RPL to the source's (ZF = 1 if it did) ----

    private static uint AdjustRpl(Cpu c, uint selector, uint source)
    {
        bool raise = (selector & 3) < (source & 3);
        uint flags = c.Lazy.Materialize() & ~(uint)FlagBits.ZF;
        c.Lazy.SetKnown(raise ? flags | (uint)FlagBits.ZF : flags);
        return raise ? (selector & ~3u) | (source & 3) : selector;
    }

    private static bool ArplR(Cpu c, ref Op op)
    {
        W16.Set(c, op.R0, AdjustRpl(c, W16.Get(c, op.R0), W16.Get(c, op.R1)));
        return true;
    }

    private static bool ArplM(Cpu c, ref Op op)
    {
        if (!c.BeginRmw(op.Seg, op.Ea(c), 2, out uint selector, out uint linear)) return false;
        c.EndRmw(linear, 2, AdjustRpl(c, selector, W16.Get(c, op.R1)));
        return true;
    }
}
