using Iced.Intel;
using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// Instructions on EFLAGS: clc, stc, cmc, cld, std, lahf, sahf, salc, and the interrupt-flag instructions cli, sti,
/// pushf and popf (the last two sensitive: at CPL &gt; 0 they read or silently keep IF and IOPL).
/// </summary>
internal static unsafe class FlagControl
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Clc: op.Exec = &Clc; return true;
            case Mnemonic.Stc: op.Exec = &Stc; return true;
            case Mnemonic.Cmc: op.Exec = &Cmc; return true;
            case Mnemonic.Cld: op.Exec = &Cld; return true;
            case Mnemonic.Std: op.Exec = &Std; return true;
            case Mnemonic.Lahf: op.Exec = &Lahf; return true;
            case Mnemonic.Sahf: op.Exec = &Sahf; return true;
            case Mnemonic.Salc: op.Exec = &Salc; return true;
            case Mnemonic.Cli: op.Exec = &Cli; op.EndsBlock = true; return true;
            case Mnemonic.Sti: op.Exec = &Sti; op.EndsBlock = true; return true;
            case Mnemonic.Pushf or Mnemonic.Pushfd:
                op.Size = (byte)(i.Mnemonic == Mnemonic.Pushfd ? 4 : 2);
                op.Exec = &Pushf;
                return true;
            case Mnemonic.Popf or Mnemonic.Popfd:
                op.Size = (byte)(i.Mnemonic == Mnemonic.Popfd ? 4 : 2);
                op.Exec = &Popf;
                op.EndsBlock = true; // IF or TF may have changed
                return true;
            default:
                return false;
        }
    }

    private static bool SetCarry(Cpu c, bool carry)
    {
        uint f = c.Lazy.Materialize();
        c.Lazy.SetKnown(carry ? f | (uint)FlagBits.CF : f & ~(uint)FlagBits.CF);
        return true;
    }

    private static bool Clc(Cpu c, ref Op op) => SetCarry(c, false);
    private static bool Stc(Cpu c, ref Op op) => SetCarry(c, true);
    private static bool Cmc(Cpu c, ref Op op) => SetCarry(c, !c.Lazy.CF);
    private static bool Cld(Cpu c, ref Op op) { c.FlagsRest &= ~(uint)FlagBits.DF; return true; }
    private static bool Std(Cpu c, ref Op op) { c.FlagsRest |= (uint)FlagBits.DF; return true; }

    private static bool Lahf(Cpu c, ref Op op)
    {
        W8.Set(c, 4, (c.Lazy.Materialize() & 0xD5) | 0x02);
        return true;
    }

    private static bool Sahf(Cpu c, ref Op op)
    {
        uint f = c.Lazy.Materialize();
        c.Lazy.SetKnown((f & (uint)FlagBits.OF) | (W8.Get(c, 4) & 0xD5));
        return true;
    }

    /// <summary>salc (undocumented, 0xD6): AL = CF ? 0xFF : 0, as processors and QEMU execute it.</summary>
    private static bool Salc(Cpu c, ref Op op)
    {
        W8.Set(c, 0, c.Lazy.CF ? 0xFFu : 0);
        return true;
    }

    private static bool Cli(Cpu c, ref Op op)
    {
        if (c.Cpl > c.Iopl) return c.GeneralProtection(0);
        c.FlagsRest &= ~(uint)FlagBits.IF;
        return true;
    }

    private static bool Sti(Cpu c, ref Op op)
    {
        if (c.Cpl > c.Iopl) return c.GeneralProtection(0);
        if (!c.InterruptsEnabled) c.SetInterruptShadow(GuestInterruptibility.BlockingBySti);
        c.FlagsRest |= (uint)FlagBits.IF;
        return true;
    }

    private static bool Pushf(Cpu c, ref Op op)
    {
        if (!c.Sensitive(ref op)) return false;
        uint flags = c.Eflags & ~(uint)(FlagBits.VM | FlagBits.RF);
        return c.Push(flags, op.Size);
    }

    private static bool Popf(Cpu c, ref Op op)
    {
        if (!c.Sensitive(ref op) || !c.Pop(out uint value, op.Size)) return false;
        c.SetFlagsPrivileged(value, op.Size, c.Cpl); // unlike sti, no interrupt shadow
        return true;
    }
}
