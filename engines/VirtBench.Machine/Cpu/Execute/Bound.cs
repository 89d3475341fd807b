using Iced.Intel;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>bound r, m: raises #BR (a fault) unless lower &lt;= r &lt;= upper, the signed pair at m. Flags are unchanged.</summary>
internal static unsafe class Bound
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        if (i.Mnemonic != Mnemonic.Bound || i.Op1Kind != OpKind.Memory) return false;
        op.R0 = Operands.Index(i.Op0Register);
        op.Exec = i.Op0Register.GetSize() == 4 ? &Check<W32> : &Check<W16>;
        return true;
    }

    private static bool Check<W>(Cpu c, ref Op op) where W : struct, IWidth
    {
        uint ea = op.Ea(c);
        if (!W.Read(c, op.Seg, ea, out uint lower) || !W.Read(c, op.Seg, ea + (uint)W.Bytes, out uint upper)) return false;
        int shift = 32 - 8 * W.Bytes;
        int index = (int)(W.Get(c, op.R0) << shift) >> shift;
        if (index < (int)(lower << shift) >> shift || index > (int)(upper << shift) >> shift) return c.Fault(Vectors.BR);
        return true;
    }
}
