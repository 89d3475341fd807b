using Iced.Intel;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>The operand forms of two-operand instructions (destination first).</summary>
internal enum Form
{
    /// <summary>Register, register.</summary>
    RR,
    /// <summary>Register, immediate.</summary>
    RI,
    /// <summary>Register, memory.</summary>
    RM,
    /// <summary>Memory, register.</summary>
    MR,
    /// <summary>Memory, immediate.</summary>
    MI,
    /// <summary>Anything else (the binder handles it specially).</summary>
    Other,
}

/// <summary>Reading operands out of Iced's instruction into an <see cref="Op"/>.</summary>
internal static class Operands
{
    /// <summary>Our register number for an Iced general-purpose register of any width (8-bit: AL..BH = 0..7).</summary>
    public static byte Index(Register r)
    {
        if (r.IsGPR32()) return (byte)(r - Register.EAX);
        if (r.IsGPR16()) return (byte)(r - Register.AX);
        if (r >= Register.AL && r <= Register.BH) return (byte)(r - Register.AL);
        throw new ArgumentException($"not a 32-bit general-purpose register: {r}");
    }

    /// <summary>Segment register number (ES=0 ... GS=5).</summary>
    public static byte SegmentIndex(Register r) => (byte)(r - Register.ES);

    /// <summary>Fills the memory-operand fields of an op from the instruction's memory operand.</summary>
    public static void SetMemory(ref Op op, in Instruction i)
    {
        op.Base = i.MemoryBase == Register.None ? (byte)RegisterFile.Zero : Index(i.MemoryBase);
        op.Index = i.MemoryIndex == Register.None ? (byte)RegisterFile.Zero : Index(i.MemoryIndex);
        op.Scale = (byte)System.Numerics.BitOperations.Log2((uint)i.MemoryIndexScale);
        op.Disp = i.MemoryDisplacement32;
        op.Seg = SegmentIndex(i.MemorySegment);
        bool addr16 = i.MemoryBase.IsGPR16() || i.MemoryIndex.IsGPR16() || i.MemoryDisplSize == 2;
        op.AddrMask = addr16 ? 0xFFFFu : 0xFFFF_FFFFu;
    }

    /// <summary>True if the instruction has a memory operand that is not a string operand.</summary>
    public static bool HasMemory(in Instruction i)
    {
        for (int n = 0; n < i.OpCount; n++)
            if (i.GetOpKind(n) == OpKind.Memory) return true;
        return false;
    }

    public static bool IsImmediate(OpKind k) => k is OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32
        or OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8_2nd;

    /// <summary>The form of a two-operand instruction, and fills R0/R1/Imm accordingly.</summary>
    public static Form TwoOperand(ref Op op, in Instruction i)
    {
        if (i.OpCount < 2) return Form.Other;
        OpKind a = i.GetOpKind(0), b = i.GetOpKind(1);
        if (a == OpKind.Register && !i.Op0Register.IsGPR()) return Form.Other;
        if (b == OpKind.Register && !i.Op1Register.IsGPR()) return Form.Other;
        if (a == OpKind.Register) op.R0 = Index(i.Op0Register);
        if (b == OpKind.Register) op.R1 = Index(i.Op1Register);
        if (IsImmediate(b)) op.Imm = (uint)i.GetImmediate(1);
        return (a, b) switch
        {
            (OpKind.Register, OpKind.Register) => Form.RR,
            (OpKind.Register, OpKind.Memory) => Form.RM,
            (OpKind.Memory, OpKind.Register) => Form.MR,
            (OpKind.Register, _) when IsImmediate(b) => Form.RI,
            (OpKind.Memory, _) when IsImmediate(b) => Form.MI,
            _ => Form.Other,
        };
    }

    /// <summary>Operand size in bytes of operand 0 (register or memory).</summary>
    public static int Size(in Instruction i, int operand = 0) => i.GetOpKind(operand) switch
    {
        OpKind.Register => i.GetOpRegister(operand).GetSize(),
        OpKind.Memory => i.MemorySize.GetSize(),
        _ => 0,
    };
}
