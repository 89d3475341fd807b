using Iced.Intel;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>The integer instruction families the generator draws from (DESIGN.md section 4, "Scope").</summary>
internal enum InstructionFamily
{
    /// <summary>mov, movzx/movsx, lea, xchg, cbw/cwde/cwd/cdq, bswap, xlat.</summary>
    DataMovement,
    /// <summary>add, adc, sub, sbb, cmp, inc, dec, neg.</summary>
    Arithmetic,
    /// <summary>and, or, xor, test, not.</summary>
    Logic,
    /// <summary>push, pop, pusha(d), popa(d), pushf(d), popf(d), enter/leave.</summary>
    Stack,
    /// <summary>clc, stc, cmc, cld, std, lahf, sahf.</summary>
    FlagControl,
    /// <summary>setcc, cmovcc, jcc, loop/loope/loopne, jcxz/jecxz, call and jmp (direct, through a register or memory), ret.</summary>
    Conditional,
    /// <summary>rol, ror, rcl, rcr, shl/sal, shr, sar, shld, shrd.</summary>
    ShiftRotate,
    /// <summary>mul, imul (one, two and three operands), div, idiv.</summary>
    MultiplyDivide,
    /// <summary>bt, bts, btr, btc, bsf, bsr.</summary>
    BitOps,
    /// <summary>movs, cmps, scas, lods, stos with and without rep/repe/repne, with DF clear and set.</summary>
    StringOps,
    /// <summary>cmpxchg, cmpxchg8b, xadd.</summary>
    CompareExchange,
    /// <summary>daa, das, aaa, aas, aam, aad.</summary>
    Bcd,
}

/// <summary>Facts about <see cref="InstructionFamily"/>.</summary>
internal static class InstructionFamilies
{
    /// <summary>Every family.</summary>
    public static readonly InstructionFamily[] All = Enum.GetValues<InstructionFamily>();

    /// <summary>The families of the CPU core proper (the others came with the 'families' branch).</summary>
    public static readonly InstructionFamily[] Core =
    [
        InstructionFamily.DataMovement, InstructionFamily.Arithmetic, InstructionFamily.Logic,
        InstructionFamily.Stack, InstructionFamily.FlagControl, InstructionFamily.Conditional,
    ];

    /// <summary>The mnemonics of each family (for generating by code and for classifying a decoded instruction).</summary>
    public static readonly IReadOnlyDictionary<InstructionFamily, Mnemonic[]> Mnemonics = new Dictionary<InstructionFamily, Mnemonic[]>
    {
        [InstructionFamily.DataMovement] = [Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Lea, Mnemonic.Xchg, Mnemonic.Cbw,
            Mnemonic.Cwde, Mnemonic.Cwd, Mnemonic.Cdq, Mnemonic.Bswap, Mnemonic.Xlatb],
        [InstructionFamily.Arithmetic] = [Mnemonic.Add, Mnemonic.Adc, Mnemonic.Sub, Mnemonic.Sbb, Mnemonic.Cmp, Mnemonic.Inc, Mnemonic.Dec, Mnemonic.Neg],
        [InstructionFamily.Logic] = [Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Test, Mnemonic.Not],
        [InstructionFamily.Stack] = [Mnemonic.Push, Mnemonic.Pop, Mnemonic.Pusha, Mnemonic.Pushad, Mnemonic.Popa, Mnemonic.Popad,
            Mnemonic.Pushf, Mnemonic.Pushfd, Mnemonic.Popf, Mnemonic.Popfd, Mnemonic.Enter, Mnemonic.Leave],
        [InstructionFamily.FlagControl] = [Mnemonic.Clc, Mnemonic.Stc, Mnemonic.Cmc, Mnemonic.Cld, Mnemonic.Std, Mnemonic.Lahf, Mnemonic.Sahf],
        [InstructionFamily.Conditional] = [.. Enumerable.Range((int)Mnemonic.Seta, Mnemonic.Sets - Mnemonic.Seta + 1).Select(m => (Mnemonic)m)
            .Concat(Enumerable.Range((int)Mnemonic.Cmova, Mnemonic.Cmovs - Mnemonic.Cmova + 1).Select(m => (Mnemonic)m))
            .Where(m => m.ToString().StartsWith("Set") || m.ToString().StartsWith("Cmov")),
            Mnemonic.Ja, Mnemonic.Jae, Mnemonic.Jb, Mnemonic.Jbe, Mnemonic.Je, Mnemonic.Jg, Mnemonic.Jge, Mnemonic.Jl, Mnemonic.Jle,
            Mnemonic.Jne, Mnemonic.Jno, Mnemonic.Jnp, Mnemonic.Jns, Mnemonic.Jo, Mnemonic.Jp, Mnemonic.Js,
            Mnemonic.Loop, Mnemonic.Loope, Mnemonic.Loopne, Mnemonic.Jecxz, Mnemonic.Jcxz, Mnemonic.Call, Mnemonic.Jmp, Mnemonic.Ret],
        [InstructionFamily.ShiftRotate] = [Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl, Mnemonic.Rcr, Mnemonic.Shl, Mnemonic.Sal, Mnemonic.Shr,
            Mnemonic.Sar, Mnemonic.Shld, Mnemonic.Shrd],
        [InstructionFamily.MultiplyDivide] = [Mnemonic.Mul, Mnemonic.Imul, Mnemonic.Div, Mnemonic.Idiv],
        [InstructionFamily.BitOps] = [Mnemonic.Bt, Mnemonic.Bts, Mnemonic.Btr, Mnemonic.Btc, Mnemonic.Bsf, Mnemonic.Bsr],
        [InstructionFamily.StringOps] = [Mnemonic.Movsb, Mnemonic.Movsw, Mnemonic.Movsd, Mnemonic.Cmpsb, Mnemonic.Cmpsw, Mnemonic.Cmpsd,
            Mnemonic.Scasb, Mnemonic.Scasw, Mnemonic.Scasd, Mnemonic.Lodsb, Mnemonic.Lodsw, Mnemonic.Lodsd,
            Mnemonic.Stosb, Mnemonic.Stosw, Mnemonic.Stosd],
        [InstructionFamily.CompareExchange] = [Mnemonic.Cmpxchg, Mnemonic.Cmpxchg8b, Mnemonic.Xadd],
        [InstructionFamily.Bcd] = [Mnemonic.Daa, Mnemonic.Das, Mnemonic.Aaa, Mnemonic.Aas, Mnemonic.Aam, Mnemonic.Aad],
    };

    /// <summary>The family of a mnemonic, or null if the generator does not cover it.</summary>
    public static InstructionFamily? Of(Mnemonic mnemonic)
    {
        foreach (var (family, mnemonics) in Mnemonics)
            if (mnemonics.Contains(mnemonic)) return family;
        return null;
    }
}
