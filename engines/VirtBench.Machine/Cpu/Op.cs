using System.Runtime.CompilerServices;

namespace VirtBench.Machine.Cpu;

/// <summary>
/// One decoded instruction, digested for execution: a handler specialized for the instruction's operation,
/// operand form and width, plus the operand fields it reads. Handlers return true to continue with the next
/// op of the block, false to end the block (a taken branch, a state change, or a fault: see
/// <see cref="Cpu.Aborted"/>).
/// </summary>
/// <remarks>Kept small and blittable: blocks are arrays of these, walked by the hot loop.</remarks>
internal unsafe struct Op
{
    public delegate*<Cpu, ref Op, bool> Exec;
    /// <summary>EIP of this instruction, and of the next.</summary>
    public uint Eip, NextEip;
    /// <summary>Immediate operand, or branch target.</summary>
    public uint Imm;
    /// <summary>Memory operand displacement.</summary>
    public uint Disp;
    /// <summary>0xFFFF for 16-bit addressing, else all ones.</summary>
    public uint AddrMask;
    /// <summary>Register operands (8-bit registers: 0-3 = AL..BL, 4-7 = AH..BH).</summary>
    public byte R0, R1;
    /// <summary>Memory operand base and index register (8 = none, reads as zero), index scale as a shift.</summary>
    public byte Base, Index, Scale;
    /// <summary>Segment of the memory operand.</summary>
    public byte Seg;
    /// <summary>Operand size in bytes.</summary>
    public byte Size;
    /// <summary>Condition code, or another small operation-specific value.</summary>
    public byte Aux;
    /// <summary>The Iced mnemonic (counted per retired instruction).</summary>
    public ushort Mnemonic;
    /// <summary>Position of this op in its block (to find the full Iced instruction for slow paths).</summary>
    public ushort Position;
    /// <summary>Set by binders for instructions after which the block must end.</summary>
    public bool EndsBlock;
    /// <summary>A near jmp/jcc/call/ret/loop: ends the block but changes no interrupt or device state.</summary>
    public bool NearBranch;

    /// <summary>Effective address of the memory operand (offset in its segment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly uint Ea(Cpu c) => (Disp + c.Regs[Base] + (c.Regs[Index] << Scale)) & AddrMask;
}
