using Iced.Intel;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// Decimal arithmetic adjustments: daa, das, aaa, aas, aam (#DE for a base of 0), aad. The flags Intel leaves
/// undefined are QEMU 7.2's: daa/das clear OF; aaa/aas keep OF, SF, ZF and PF; aam/aad set SF, ZF and PF from
/// AL and clear OF, AF and CF.
/// </summary>
internal static unsafe class Bcd
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Daa: op.Exec = &Daa; return true;
            case Mnemonic.Das: op.Exec = &Das; return true;
            case Mnemonic.Aaa: op.Exec = &Aaa; return true;
            case Mnemonic.Aas: op.Exec = &Aas; return true;
            case Mnemonic.Aam: op.Imm = i.Immediate8; op.Exec = &Aam; return true;
            case Mnemonic.Aad: op.Imm = i.Immediate8; op.Exec = &Aad; return true;
            default: return false;
        }
    }

    private const uint CF = (uint)FlagBits.CF, AF = (uint)FlagBits.AF;

    /// <summary>Sets AL and the flags of a decimal adjustment: SF, ZF, PF from AL, plus the given CF and AF.</summary>
    private static bool SetDecimal(Cpu c, uint al, uint carries)
    {
        W8.Set(c, 0, al);
        c.Lazy.Set(FlagOp.Logic, 0, 0, 0, al);
        c.Lazy.SetKnown(c.Lazy.Materialize() | carries);
        return true;
    }

    private static bool Daa(Cpu c, ref Op op)
    {
        uint flags = c.Lazy.Materialize();
        uint al = W8.Get(c, 0), old = al, carries = 0;
        if ((al & 0x0F) > 9 || (flags & AF) != 0) { al = (al + 6) & 0xFF; carries |= AF; }
        if (old > 0x99 || (flags & CF) != 0) { al = (al + 0x60) & 0xFF; carries |= CF; }
        return SetDecimal(c, al, carries);
    }

    private static bool Das(Cpu c, ref Op op)
    {
        uint flags = c.Lazy.Materialize();
        uint al = W8.Get(c, 0), old = al, carries = 0;
        if ((al & 0x0F) > 9 || (flags & AF) != 0)
        {
            carries |= AF;
            if (al < 6 || (flags & CF) != 0) carries |= CF;
            al = (al - 6) & 0xFF;
        }
        if (old > 0x99 || (flags & CF) != 0) { al = (al - 0x60) & 0xFF; carries |= CF; }
        return SetDecimal(c, al, carries);
    }

    /// <summary>aaa (+1) and aas (-1): adjust AL after an unpacked BCD addition or subtraction, carrying into AH.</summary>
    private static bool AsciiAdjust(Cpu c, int direction)
    {
        uint flags = c.Lazy.Materialize();
        uint al = W8.Get(c, 0), ah = W8.Get(c, 4);
        if ((al & 0x0F) > 9 || (flags & AF) != 0)
        {
            // AH also takes the carry (or borrow) out of AL's +6 (or -6), as the processor and QEMU do.
            uint carry = direction > 0 ? (al > 0xF9 ? 1u : 0) : (al < 6 ? 1u : 0);
            al = (uint)(al + 6 * direction) & 0x0F;
            ah = (uint)(ah + direction * (1 + carry)) & 0xFF;
            flags |= CF | AF;
        }
        else
        {
            al &= 0x0F;
            flags &= ~(CF | AF);
        }
        W16.Set(c, 0, al | (ah << 8));
        c.Lazy.SetKnown(flags);
        return true;
    }

    private static bool Aaa(Cpu c, ref Op op) => AsciiAdjust(c, +1);
    private static bool Aas(Cpu c, ref Op op) => AsciiAdjust(c, -1);

    private static bool Aam(Cpu c, ref Op op)
    {
        if (op.Imm == 0) return c.DivideError();
        uint al = W8.Get(c, 0);
        uint quotient = al / op.Imm, remainder = al % op.Imm;
        W16.Set(c, 0, remainder | (quotient << 8));
        c.Lazy.Set(FlagOp.Logic, 0, 0, 0, remainder);
        return true;
    }

    private static bool Aad(Cpu c, ref Op op)
    {
        uint al = (W8.Get(c, 4) * op.Imm + W8.Get(c, 0)) & 0xFF;
        W16.Set(c, 0, al);
        c.Lazy.Set(FlagOp.Logic, 0, 0, 0, al);
        return true;
    }
}
