using Iced.Intel;
using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// Control transfers: jmp, jcc, call, ret, loop/loope/loopne, jcxz/jecxz, far jmp/call/ret, int n, int3,
/// into, iret. Every one of them ends its block.
/// </summary>
internal static unsafe class ControlFlow
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        op.EndsBlock = true;
        switch (i.Mnemonic)
        {
            case Mnemonic.Jmp when i.Op0Kind is OpKind.NearBranch32 or OpKind.NearBranch16:
                op.Imm = (uint)i.NearBranchTarget;
                op.Exec = &JmpRel;
                return true;
            case Mnemonic.Jmp when i.Op0Kind == OpKind.Register:
                op.R0 = Operands.Index(i.Op0Register);
                op.Exec = i.Op0Register.GetSize() == 4 ? &JmpR<W32> : &JmpR<W16>;
                return true;
            case Mnemonic.Jmp when i.Op0Kind == OpKind.Memory && i.MemorySize is MemorySize.DwordOffset or MemorySize.WordOffset:
                op.Exec = i.MemorySize == MemorySize.DwordOffset ? &JmpM<W32> : &JmpM<W16>;
                return true;
            case Mnemonic.Jmp when i.Op0Kind is OpKind.FarBranch32 or OpKind.FarBranch16:
                op.Imm = i.Op0Kind == OpKind.FarBranch32 ? i.FarBranch32 : i.FarBranch16;
                op.Aux = 0;
                op.R1 = 0;
                op.Disp = i.FarBranchSelector;
                op.Exec = &JmpFarImmediate;
                return true;
            case Mnemonic.Jmp when i.Op0Kind == OpKind.Memory:
                op.Size = (byte)(i.MemorySize == MemorySize.SegPtr32 ? 4 : 2);
                op.Exec = &JmpFarMemory;
                return true;
            case Mnemonic.Call when i.Op0Kind is OpKind.NearBranch32 or OpKind.NearBranch16:
                op.Imm = (uint)i.NearBranchTarget;
                op.Size = (byte)(i.Op0Kind == OpKind.NearBranch32 ? 4 : 2);
                op.Exec = &CallRel;
                return true;
            case Mnemonic.Call when i.Op0Kind == OpKind.Register:
                op.R0 = Operands.Index(i.Op0Register);
                op.Exec = i.Op0Register.GetSize() == 4 ? &CallR<W32> : &CallR<W16>;
                return true;
            case Mnemonic.Call when i.Op0Kind == OpKind.Memory && i.MemorySize is MemorySize.DwordOffset or MemorySize.WordOffset:
                op.Exec = i.MemorySize == MemorySize.DwordOffset ? &CallM<W32> : &CallM<W16>;
                return true;
            case Mnemonic.Call when i.Op0Kind is OpKind.FarBranch32 or OpKind.FarBranch16:
                op.Imm = i.Op0Kind == OpKind.FarBranch32 ? i.FarBranch32 : i.FarBranch16;
                op.Disp = i.FarBranchSelector;
                op.Size = (byte)(i.Op0Kind == OpKind.FarBranch32 ? 4 : 2);
                op.Exec = &CallFarImmediate;
                return true;
            case Mnemonic.Call when i.Op0Kind == OpKind.Memory:
                op.Size = (byte)(i.MemorySize == MemorySize.SegPtr32 ? 4 : 2);
                op.Exec = &CallFarMemory;
                return true;
            case Mnemonic.Ret:
                op.Imm = i.OpCount > 0 ? i.Immediate16 : 0u;
                op.Exec = i.Code is Code.Retnd or Code.Retnd_imm16 ? &Ret<W32> : &Ret<W16>;
                return true;
            case Mnemonic.Retf:
                op.Imm = i.OpCount > 0 ? i.Immediate16 : 0u;
                op.Size = (byte)(i.Code is Code.Retfd or Code.Retfd_imm16 ? 4 : 2);
                op.Exec = &RetFar;
                return true;
            case Mnemonic.Loop or Mnemonic.Loope or Mnemonic.Loopne:
                op.Imm = (uint)i.NearBranchTarget;
                op.Size = (byte)(i.Code.ToString().EndsWith("_ECX") ? 4 : 2);
                op.Aux = (byte)(i.Mnemonic == Mnemonic.Loop ? 0 : i.Mnemonic == Mnemonic.Loope ? 1 : 2);
                op.Exec = &Loop;
                return true;
            case Mnemonic.Jecxz or Mnemonic.Jcxz:
                op.Imm = (uint)i.NearBranchTarget;
                op.Size = (byte)(i.Mnemonic == Mnemonic.Jecxz ? 4 : 2);
                op.Exec = &Jcxz;
                return true;
            case Mnemonic.Int:
                op.Imm = i.Immediate8;
                op.Exec = &Int;
                return true;
            case Mnemonic.Int3:
                op.Exec = &Int3;
                return true;
            case Mnemonic.Into:
                op.Exec = &Into;
                return true;
            case Mnemonic.Iret or Mnemonic.Iretd:
                op.Size = (byte)(i.Mnemonic == Mnemonic.Iretd ? 4 : 2);
                op.Exec = &Iret;
                return true;
            default:
                if (i.FlowControl == FlowControl.ConditionalBranch && i.ConditionCode != ConditionCode.None
                    && i.Op0Kind is OpKind.NearBranch32 or OpKind.NearBranch16)
                {
                    op.Imm = (uint)i.NearBranchTarget;
                    op.Aux = (byte)(i.ConditionCode - 1);
                    op.Exec = &Jcc;
                    return true;
                }
                op.EndsBlock = false;
                return false;
        }
    }

    // ---- near ----

    private static bool JmpRel(Cpu c, ref Op op) { c.Eip = op.Imm; return false; }

    private static bool Jcc(Cpu c, ref Op op)
    {
        if (c.Lazy.Condition(op.Aux)) c.Eip = op.Imm;
        return false;
    }

    private static bool JmpR<W>(Cpu c, ref Op op) where W : struct, IWidth { c.Eip = W.Get(c, op.R0); return false; }

    private static bool JmpM<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!W.Read(c, op.Seg, op.Ea(c), out uint target)) return false;
        c.Eip = target;
        return false;
    }

    private static bool CallRel(Cpu c, ref Op op)
    {
        if (!c.Push(op.NextEip, op.Size)) return false;
        c.Eip = op.Imm;
        return false;
    }

    private static bool CallR<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        uint target = W.Get(c, op.R0);
        if (!c.Push(op.NextEip, W.Bytes)) return false;
        c.Eip = target;
        return false;
    }

    private static bool CallM<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!W.Read(c, op.Seg, op.Ea(c), out uint target) || !c.Push(op.NextEip, W.Bytes)) return false;
        c.Eip = target;
        return false;
    }

    private static bool Ret<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        if (!c.Pop(out uint target, W.Bytes)) return false;
        c.Regs[4] += op.Imm;
        c.Eip = target;
        return false;
    }

    private static bool Loop(Cpu c, ref Op op)
    {
        uint count = (op.Size == 4 ? c.Regs[1] : c.Regs[1] & 0xFFFF) - 1;
        if (op.Size == 4) c.Regs[1] = count; else W16.Set(c, 1, count);
        count &= op.Size == 4 ? 0xFFFF_FFFF : 0xFFFF;
        bool taken = count != 0 && op.Aux switch { 1 => c.Lazy.ZF, 2 => !c.Lazy.ZF, _ => true };
        if (taken) c.Eip = op.Imm;
        return false;
    }

    private static bool Jcxz(Cpu c, ref Op op)
    {
        uint count = op.Size == 4 ? c.Regs[1] : c.Regs[1] & 0xFFFF;
        if (count == 0) c.Eip = op.Imm;
        return false;
    }

    // ---- far ----

    private static bool JmpFarImmediate(Cpu c, ref Op op) => c.LoadCodeSegment((ushort)op.Disp, op.Imm) && false;

    private static bool JmpFarMemory(Cpu c, ref Op op)
    {
        uint ea = op.Ea(c);
        if (!c.Read(op.Seg, ea, op.Size, out uint offset) || !c.Read16(op.Seg, ea + op.Size, out uint selector)) return false;
        return c.LoadCodeSegment((ushort)selector, offset) && false;
    }

    private static bool CallFarImmediate(Cpu c, ref Op op) => CallFar(c, ref op, (ushort)op.Disp, op.Imm);

    private static bool CallFarMemory(Cpu c, ref Op op)
    {
        uint ea = op.Ea(c);
        if (!c.Read(op.Seg, ea, op.Size, out uint offset) || !c.Read16(op.Seg, ea + op.Size, out uint selector)) return false;
        return CallFar(c, ref op, (ushort)selector, offset);
    }

    private static bool CallFar(Cpu c, ref Op op, ushort selector, uint offset)
    {
        uint esp = c.Regs[4];
        if (!c.Push(c.Segment(SegReg.Cs).Selector, op.Size) || !c.Push(op.NextEip, op.Size)) { c.Regs[4] = esp; return false; }
        if (c.LoadCodeSegment(selector, offset)) return false;
        c.Regs[4] = esp;
        return false;
    }

    private static bool RetFar(Cpu c, ref Op op) => c.FarReturn(op.Size, op.Imm) && false;

    // ---- interrupts ----

    private static bool Int(Cpu c, ref Op op)
    {
        if (!c.SoftwareInterrupt((int)op.Imm, ExceptionKind.SoftwareInterrupt, op.Eip, op.NextEip)) c.Aborted = true;
        return false;
    }

    private static bool Int3(Cpu c, ref Op op)
    {
        if (!c.SoftwareInterrupt(Vectors.BP, ExceptionKind.Trap, op.Eip, op.NextEip)) c.Aborted = true;
        return false;
    }

    private static bool Into(Cpu c, ref Op op)
    {
        if (!c.Lazy.OF) return true;
        if (!c.SoftwareInterrupt(Vectors.OF, ExceptionKind.Trap, op.Eip, op.NextEip)) c.Aborted = true;
        return false;
    }

    private static bool Iret(Cpu c, ref Op op) => c.Sensitive(ref op) && c.InterruptReturn(op.Size) && false;
}
