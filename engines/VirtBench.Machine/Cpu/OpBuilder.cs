using Iced.Intel;
using VirtBench.Machine.Cpu.Execute;

namespace VirtBench.Machine.Cpu;

/// <summary>
/// Turns an Iced instruction into an <see cref="Op"/>: the common fields here, the handler from the
/// instruction family that claims it. An instruction no family claims raises #UD, so an unsupported
/// instruction is a guest exception, never a host failure.
/// </summary>
internal static unsafe class OpBuilder
{
    public static void Bind(ref Op op, in Instruction i)
    {
        op.Eip = (uint)i.IP;
        op.NextEip = (uint)i.NextIP;
        op.Mnemonic = (ushort)i.Mnemonic;
        op.AddrMask = 0xFFFF_FFFF;
        op.Base = op.Index = RegisterFile.Zero;
        op.Seg = (byte)SegReg.Ds;
        if (i.Code == Code.INVALID)
        {
            Undefined(ref op);
            return;
        }
        if (Operands.HasMemory(in i)) Operands.SetMemory(ref op, in i);
        bool bound =
            Arithmetic.TryBind(ref op, in i) ||
            DataMovement.TryBind(ref op, in i) ||
            Shifts.TryBind(ref op, in i) ||
            MulDiv.TryBind(ref op, in i) ||
            BitOps.TryBind(ref op, in i) ||
            Strings.TryBind(ref op, in i) ||
            Atomics.TryBind(ref op, in i) ||
            Bcd.TryBind(ref op, in i) ||
            Bound.TryBind(ref op, in i) ||
            ControlFlow.TryBind(ref op, in i) ||
            FlagControl.TryBind(ref op, in i) ||
            SegmentRegisters.TryBind(ref op, in i) ||
            SystemInstructions.TryBind(ref op, in i);
        if (!bound) Undefined(ref op);
        else if (i.FlowControl != FlowControl.Next) op.EndsBlock = true;
    }

    private static void Undefined(ref Op op)
    {
        op.Exec = &SystemInstructions.Undefined;
        op.EndsBlock = true;
    }
}
