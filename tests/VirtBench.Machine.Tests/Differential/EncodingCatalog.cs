using Iced.Intel;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>
/// The encodings the generator draws from, taken from Iced's opcode tables: for each family, every legacy
/// encoding valid in 32-bit code of its mnemonics whose operands <see cref="InstructionMixGenerator"/> can fill.
/// </summary>
internal static class EncodingCatalog
{
    private static readonly OpCodeOperandKind[] FillableKinds =
    [
        OpCodeOperandKind.r8_reg, OpCodeOperandKind.r8_opcode, OpCodeOperandKind.r16_reg, OpCodeOperandKind.r16_opcode,
        OpCodeOperandKind.r32_reg, OpCodeOperandKind.r32_opcode, OpCodeOperandKind.al, OpCodeOperandKind.cl, OpCodeOperandKind.ax,
        OpCodeOperandKind.eax, OpCodeOperandKind.r8_or_mem, OpCodeOperandKind.r16_or_mem, OpCodeOperandKind.r32_or_mem,
        OpCodeOperandKind.mem, OpCodeOperandKind.mem_offs, OpCodeOperandKind.imm8_const_1, OpCodeOperandKind.imm8,
        OpCodeOperandKind.imm8sex16, OpCodeOperandKind.imm8sex32, OpCodeOperandKind.imm16, OpCodeOperandKind.imm32,
        OpCodeOperandKind.br32_1, OpCodeOperandKind.br32_4, // 16-bit operand-size branches would truncate EIP
    ];

    /// <summary>Every legacy encoding valid in 32-bit code of the family's mnemonics whose operands the generator can fill.</summary>
    private static Code[] CodesOf(InstructionFamily family)
    {
        var mnemonics = InstructionFamilies.Mnemonics[family];
        return Enum.GetValues<Code>().Where(code =>
        {
            if (!mnemonics.Contains(code.Mnemonic())) return false;
            var info = code.ToOpCode();
            if (!info.IsInstruction || !info.Mode32 || info.Encoding != EncodingKind.Legacy) return false;
            if (code is Code.Bswap_r16) return false; // undefined result
            if (code is Code.Cmpxchg486_rm8_r8 or Code.Cmpxchg486_rm16_r16 or Code.Cmpxchg486_rm32_r32) return false; // 0F A6/A7: #UD since the 486 B-step
            // F6 /1 and F7 /1 are TEST on Intel and AMD parts, but QEMU 7.2 raises #UD: the oracle cannot judge them.
            if (code is Code.Test_rm8_imm8_F6r1 or Code.Test_rm16_imm16_F7r1 or Code.Test_rm32_imm32_F7r1) return false;
            if (code.Mnemonic() is Mnemonic.Push or Mnemonic.Pop && info.Op0Kind is OpCodeOperandKind.es or OpCodeOperandKind.cs
                    or OpCodeOperandKind.ss or OpCodeOperandKind.ds or OpCodeOperandKind.fs or OpCodeOperandKind.gs) return false;
            if (code.Mnemonic() is Mnemonic.Call && info.Op0Kind != OpCodeOperandKind.br32_4) return false;
            if (code.Mnemonic() is Mnemonic.Enter or Mnemonic.Leave) return false; // generated as a pair
            for (int n = 0; n < info.OpCount; n++)
                if (!FillableKinds.Contains(info.GetOpKind(n))) return false;
            return true;
        }).ToArray();
    }

    /// <summary>The encodings of each family.</summary>
    public static readonly IReadOnlyDictionary<InstructionFamily, Code[]> Codes = InstructionFamilies.All.ToDictionary(f => f, CodesOf);
}
