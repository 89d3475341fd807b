using System.Runtime.CompilerServices;
using Iced.Intel;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// Data movement: mov, movzx, movsx, lea, xchg, push, pop, pusha, popa, enter, leave, cbw/cwde, cwd/cdq,
/// bswap, xlat, cmovcc, setcc, nop (and the hint nops and pause).
/// </summary>
internal static unsafe class DataMovement
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Mov:
                if (i.Op0Kind == OpKind.Register && !i.Op0Register.IsGPR() || i.Op1Kind == OpKind.Register && !i.Op1Register.IsGPR())
                    return false; // segment and control registers: other families
                op.Exec = BySize(Operands.TwoOperand(ref op, in i), Operands.Size(in i), &MovRR<W8>, &MovRR<W16>, &MovRR<W32>,
                    &MovRI<W8>, &MovRI<W16>, &MovRI<W32>, &MovRM<W8>, &MovRM<W16>, &MovRM<W32>,
                    &MovMR<W8>, &MovMR<W16>, &MovMR<W32>, &MovMI<W8>, &MovMI<W16>, &MovMI<W32>);
                return op.Exec != null;
            case Mnemonic.Movzx:
            case Mnemonic.Movsx:
                return BindExtend(ref op, in i, i.Mnemonic == Mnemonic.Movsx);
            case Mnemonic.Lea:
                op.R0 = Operands.Index(i.Op0Register);
                op.Exec = i.Op0Register.GetSize() == 4 ? &Lea<W32> : &Lea<W16>;
                return true;
            case Mnemonic.Xchg:
            {
                var form = Operands.TwoOperand(ref op, in i);
                if (form == Form.MR) op.R0 = op.R1; // xchg is symmetric: keep the register in R0
                else if (form is not (Form.RR or Form.RM)) return false;
                bool rr = form == Form.RR;
                op.Exec = Operands.Size(in i) switch
                {
                    1 => rr ? &XchgRR<W8> : &XchgRM<W8>,
                    2 => rr ? &XchgRR<W16> : &XchgRM<W16>,
                    _ => rr ? &XchgRR<W32> : &XchgRM<W32>,
                };
                return true;
            }
            case Mnemonic.Push when i.Op0Kind == OpKind.Register && i.Op0Register.IsGPR():
                op.R0 = Operands.Index(i.Op0Register);
                op.Exec = i.Op0Register.GetSize() == 4 ? &PushR<W32> : &PushR<W16>;
                return true;
            case Mnemonic.Push when i.Op0Kind == OpKind.Memory:
                op.Exec = -i.StackPointerIncrement == 4 ? &PushM<W32> : &PushM<W16>;
                return true;
            case Mnemonic.Push when Operands.IsImmediate(i.Op0Kind):
                op.Imm = (uint)i.GetImmediate(0);
                op.Size = (byte)-i.StackPointerIncrement;
                op.Exec = &PushI;
                return true;
            case Mnemonic.Pop when i.Op0Kind == OpKind.Register && i.Op0Register.IsGPR():
                op.R0 = Operands.Index(i.Op0Register);
                op.Exec = i.Op0Register.GetSize() == 4 ? &PopR<W32> : &PopR<W16>;
                return true;
            case Mnemonic.Pop when i.Op0Kind == OpKind.Memory:
                op.Exec = i.StackPointerIncrement == 4 ? &PopM<W32> : &PopM<W16>;
                return true;
            case Mnemonic.Pushad: op.Exec = &PushAll<W32>; return true;
            case Mnemonic.Pusha: op.Exec = &PushAll<W16>; return true;
            case Mnemonic.Popad: op.Exec = &PopAll<W32>; return true;
            case Mnemonic.Popa: op.Exec = &PopAll<W16>; return true;
            case Mnemonic.Leave:
                op.Exec = i.Code == Code.Leaved ? &Leave<W32> : &Leave<W16>;
                return true;
            case Mnemonic.Enter:
                op.Imm = i.Immediate16;
                op.Aux = (byte)(i.Immediate8_2nd & 31);
                op.Size = (byte)(i.Code == Code.Enterd_imm16_imm8 ? 4 : 2);
                op.Exec = &Enter;
                return true;
            case Mnemonic.Cbw: op.Exec = &Cbw; return true;
            case Mnemonic.Cwde: op.Exec = &Cwde; return true;
            case Mnemonic.Cwd: op.Exec = &Cwd; return true;
            case Mnemonic.Cdq: op.Exec = &Cdq; return true;
            case Mnemonic.Bswap:
                op.R0 = Operands.Index(i.Op0Register);
                op.Exec = &Bswap; // with a 16-bit operand the result is undefined; QEMU swaps all 32 bits, and so do we
                return true;
            case Mnemonic.Xlatb: op.Exec = &Xlat; return true;
            // Multi-byte and hint nops (0F 0D, 0F 18-1F: prefetches, and endbr32/rdsspd without CET) and pause
            // execute as nop, as on QEMU.
            case Mnemonic.Nop or Mnemonic.Pause or Mnemonic.Reservednop or Mnemonic.Prefetch or Mnemonic.Prefetchw
                or Mnemonic.Prefetchnta or Mnemonic.Prefetcht0 or Mnemonic.Prefetcht1 or Mnemonic.Prefetcht2
                or Mnemonic.Endbr32 or Mnemonic.Endbr64 or Mnemonic.Rdsspd:
                op.Exec = &Nop;
                return true;
            case >= Mnemonic.Cmova and <= Mnemonic.Cmovs when i.ConditionCode != ConditionCode.None:
            {
                op.Aux = (byte)(i.ConditionCode - 1);
                var form = Operands.TwoOperand(ref op, in i);
                bool w32 = i.Op0Register.GetSize() == 4;
                op.Exec = form == Form.RR ? (w32 ? &CmovRR<W32> : &CmovRR<W16>) : (w32 ? &CmovRM<W32> : &CmovRM<W16>);
                return true;
            }
            case >= Mnemonic.Seta and <= Mnemonic.Sets when i.ConditionCode != ConditionCode.None:
                op.Aux = (byte)(i.ConditionCode - 1);
                if (i.Op0Kind == OpKind.Register) { op.R0 = Operands.Index(i.Op0Register); op.Exec = &SetccR; }
                else op.Exec = &SetccM;
                return true;
            default:
                return false;
        }
    }

    private static delegate*<Cpu, ref Op, bool> BySize(Form form, int size,
        delegate*<Cpu, ref Op, bool> rr8, delegate*<Cpu, ref Op, bool> rr16, delegate*<Cpu, ref Op, bool> rr32,
        delegate*<Cpu, ref Op, bool> ri8, delegate*<Cpu, ref Op, bool> ri16, delegate*<Cpu, ref Op, bool> ri32,
        delegate*<Cpu, ref Op, bool> rm8, delegate*<Cpu, ref Op, bool> rm16, delegate*<Cpu, ref Op, bool> rm32,
        delegate*<Cpu, ref Op, bool> mr8, delegate*<Cpu, ref Op, bool> mr16, delegate*<Cpu, ref Op, bool> mr32,
        delegate*<Cpu, ref Op, bool> mi8, delegate*<Cpu, ref Op, bool> mi16, delegate*<Cpu, ref Op, bool> mi32)
    {
        int w = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : -1;
        if (w < 0) return null;
        return form switch
        {
            Form.RR => w == 0 ? rr8 : w == 1 ? rr16 : rr32,
            Form.RI => w == 0 ? ri8 : w == 1 ? ri16 : ri32,
            Form.RM => w == 0 ? rm8 : w == 1 ? rm16 : rm32,
            Form.MR => w == 0 ? mr8 : w == 1 ? mr16 : mr32,
            Form.MI => w == 0 ? mi8 : w == 1 ? mi16 : mi32,
            _ => null,
        };
    }

    // ---- mov ----

    private static bool MovRR<W>(Cpu c, ref Op op) where W : struct, IWidth { W.Set(c, op.R0, W.Get(c, op.R1)); return true; }
    private static bool MovRI<W>(Cpu c, ref Op op) where W : struct, IWidth { W.Set(c, op.R0, op.Imm); return true; }

    private static bool MovRM<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!W.Read(c, op.Seg, op.Ea(c), out uint v)) return false;
        W.Set(c, op.R0, v);
        return true;
    }

    private static bool MovMR<W>(Cpu c, ref Op op) where W : struct, IWidth => W.Write(c, op.Seg, op.Ea(c), W.Get(c, op.R1));
    private static bool MovMI<W>(Cpu c, ref Op op) where W : struct, IWidth => W.Write(c, op.Seg, op.Ea(c), op.Imm);

    // ---- movzx / movsx ----

    private static bool BindExtend(ref Op op, in Instruction i, bool signed)
    {
        op.R0 = Operands.Index(i.Op0Register);
        bool fromReg = i.Op1Kind == OpKind.Register;
        if (fromReg) op.R1 = Operands.Index(i.Op1Register);
        int from = Operands.Size(in i, 1), to = i.Op0Register.GetSize();
        op.Aux = (byte)(signed ? 1 : 0);
        op.Exec = (from, to, fromReg) switch
        {
            (1, 2, true) => &ExtendR<W8, W16>,
            (1, 4, true) => &ExtendR<W8, W32>,
            (2, 4, true) => &ExtendR<W16, W32>,
            (2, 2, true) => &ExtendR<W16, W16>,
            (1, 2, false) => &ExtendM<W8, W16>,
            (1, 4, false) => &ExtendM<W8, W32>,
            (2, 4, false) => &ExtendM<W16, W32>,
            (2, 2, false) => &ExtendM<W16, W16>,
            _ => null,
        };
        return op.Exec != null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Extend<TFrom>(uint v, bool signed) where TFrom : struct, IWidth =>
        signed && (v & TFrom.Sign) != 0 ? v | ~TFrom.Mask : v & TFrom.Mask;

    private static bool ExtendR<TFrom, TTo>(Cpu c, ref Op op) where TFrom : struct, IWidth where TTo : struct, IWidth
    {
        TTo.Set(c, op.R0, Extend<TFrom>(TFrom.Get(c, op.R1), op.Aux != 0));
        return true;
    }

    private static bool ExtendM<TFrom, TTo>(Cpu c, ref Op op) where TFrom : struct, IWidth where TTo : struct, IWidth
    {
        if (!TFrom.Read(c, op.Seg, op.Ea(c), out uint v)) return false;
        TTo.Set(c, op.R0, Extend<TFrom>(v, op.Aux != 0));
        return true;
    }

    // ---- lea, xchg ----

    private static bool Lea<W>(Cpu c, ref Op op) where W : struct, IWidth { W.Set(c, op.R0, op.Ea(c)); return true; }

    private static bool XchgRR<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        uint a = W.Get(c, op.R0), b = W.Get(c, op.R1);
        W.Set(c, op.R0, b);
        W.Set(c, op.R1, a);
        return true;
    }

    private static bool XchgRM<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!c.BeginRmw(op.Seg, op.Ea(c), W.Bytes, out uint old, out uint linear)) return false;
        c.EndRmw(linear, W.Bytes, W.Get(c, op.R0));
        W.Set(c, op.R0, old);
        return true;
    }

    // ---- push, pop ----

    private static bool PushR<W>(Cpu c, ref Op op) where W : struct, IWidth => c.Push(W.Get(c, op.R0), W.Bytes);
    private static bool PushI(Cpu c, ref Op op) => c.Push(op.Imm, op.Size);

    private static bool PushM<W>(Cpu c, ref Op op) where W : struct, IWidth =>
        W.Read(c, op.Seg, op.Ea(c), out uint v) && c.Push(v, W.Bytes);

    private static bool PopR<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!c.Pop(out uint v, W.Bytes)) return false;
        W.Set(c, op.R0, v);
        return true;
    }

    private static bool PopM<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        // The destination address is computed with ESP already incremented; nothing changes if the write faults.
        if (!c.PeekStack(0, W.Bytes, out uint v)) return false;
        uint esp = c.Regs[4];
        c.Regs[4] = esp + (uint)W.Bytes;
        if (W.Write(c, op.Seg, op.Ea(c), v)) return true;
        c.Regs[4] = esp;
        return false;
    }

    private static bool PushAll<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        uint esp = c.Regs[4];
        for (int r = 0; r < 8; r++)
        {
            uint v = r == 4 ? esp : c.Regs[r];
            if (!c.Push(v, W.Bytes)) { c.Regs[4] = esp; return false; }
        }
        return true;
    }

    private static bool PopAll<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        var values = stackalloc uint[8];
        for (int r = 7; r >= 0; r--)
            if (!c.PeekStack((uint)((7 - r) * W.Bytes), W.Bytes, out values[r])) return false;
        for (int r = 0; r < 8; r++)
            if (r != 4) W.Set(c, r, values[r]);
        c.Regs[4] += 8u * (uint)W.Bytes;
        return true;
    }

    private static bool Leave<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        uint esp = c.Regs[4];
        c.Regs[4] = c.Regs[5];
        if (!c.Pop(out uint v, W.Bytes)) { c.Regs[4] = esp; return false; }
        W.Set(c, 5, v);
        return true;
    }

    private static bool Enter(Cpu c, ref Op op)
    {
        int size = op.Size;
        uint esp = c.Regs[4], ebp = c.Regs[5];
        if (!c.Push(ebp, size)) return false;
        uint frame = c.Regs[4];
        for (int level = 1; level < op.Aux; level++)
        {
            ebp -= (uint)size;
            if (!c.Read((int)SegReg.Ss, ebp, size, out uint v) || !c.Push(v, size)) { c.Regs[4] = esp; return false; }
        }
        if (op.Aux > 0 && !c.Push(frame, size)) { c.Regs[4] = esp; return false; }
        uint newEsp = c.Regs[4] - op.Imm;
        if (size == 4) c.Regs[5] = frame; else W16.Set(c, 5, frame);
        c.Regs[4] = newEsp;
        return true;
    }

    // ---- conversions ----

    private static bool Cbw(Cpu c, ref Op op) { W16.Set(c, 0, (uint)(short)(sbyte)c.Regs[0]); return true; }
    private static bool Cwde(Cpu c, ref Op op) { c.Regs[0] = (uint)(short)c.Regs[0]; return true; }
    private static bool Cwd(Cpu c, ref Op op) { W16.Set(c, 2, (c.Regs[0] & 0x8000) != 0 ? 0xFFFFu : 0); return true; }
    private static bool Cdq(Cpu c, ref Op op) { c.Regs[2] = (c.Regs[0] & 0x8000_0000) != 0 ? 0xFFFF_FFFFu : 0; return true; }
    private static bool Bswap(Cpu c, ref Op op) { c.Regs[op.R0] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(c.Regs[op.R0]); return true; }

    private static bool Xlat(Cpu c, ref Op op)
    {
        uint ea = (c.Regs[3] + (c.Regs[0] & 0xFF)) & op.AddrMask;
        if (!c.Read8(op.Seg, ea, out uint v)) return false;
        W8.Set(c, 0, v);
        return true;
    }

    private static bool Nop(Cpu c, ref Op op) => true;

    // ---- conditional moves and sets ----

    private static bool CmovRR<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (c.Lazy.Condition(op.Aux)) W.Set(c, op.R0, W.Get(c, op.R1));
        return true;
    }

    private static bool CmovRM<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!W.Read(c, op.Seg, op.Ea(c), out uint v)) return false; // the source is read whatever the condition
        if (c.Lazy.Condition(op.Aux)) W.Set(c, op.R0, v);
        return true;
    }

    private static bool SetccR(Cpu c, ref Op op) { W8.Set(c, op.R0, c.Lazy.Condition(op.Aux) ? 1u : 0); return true; }
    private static bool SetccM(Cpu c, ref Op op) => c.Write8(op.Seg, op.Ea(c), c.Lazy.Condition(op.Aux) ? 1u : 0);
}
