using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Engines.BinaryTranslation.Runtime.TranslatorData;

namespace VirtBench.Engines.BinaryTranslation.Translation;

/// <summary>
/// Control transfers, the instructions whose meaning depends on EIP. A direct branch becomes one exit per target (a
/// near jmp or jcc to a stub, chained to the target's translation the first time it runs); a call pushes the guest's
/// return address, never a translation-cache address, so the guest's stack stays the guest's. Indirect jumps, indirect
/// calls and returns load the guest target into ECX (saved first) and go through the shared lookup routine
/// (<see cref="IndirectLookup"/>). The first access to guest memory comes first, before the guest's state changes.
/// </summary>
internal static class BranchTranslation
{
    /// <summary>jmp or call to an immediate target.</summary>
    public static void Direct(UnitAssembler u, in Instruction i)
    {
        uint eip = (uint)i.IP, target = (uint)i.NearBranchTarget;
        if (i.Mnemonic == Mnemonic.Call)
        {
            PushReturnAddress(u, i);
            u.At(eip, TcRole.Boundary);
            u.Exit(Code.Jmp_rel32_32, target, target);
            return;
        }
        u.Exit(Code.Jmp_rel32_32, target, eip);
    }

    /// <summary>jcc, loop, loope, loopne, jecxz, jcxz: an exit when taken and one when not.</summary>
    public static void Conditional(UnitAssembler u, in Instruction i)
    {
        uint eip = (uint)i.IP, target = (uint)i.NearBranchTarget, next = (uint)i.NextIP;
        if (i.Mnemonic is Mnemonic.Loop or Mnemonic.Loope or Mnemonic.Loopne or Mnemonic.Jecxz or Mnemonic.Jcxz)
        {
            // Only short forms exist: the copy branches over the fall-through exit to the taken one. Its operand size
            // becomes 32 bits (a 16-bit one would cut the translation-cache address); the count register stays.
            var taken = u.A.CreateLabel();
            var copy = i;
            copy.IP = 0;
            copy.Code = WithEip32(i.Code);
            copy.Op0Kind = OpKind.NearBranch32;
            copy.NearBranch32 = (uint)taken.Id;
            u.A.AddInstruction(copy);
            u.At(eip, TcRole.Boundary);
            u.Exit(Code.Jmp_rel32_32, next, next);
            u.A.Label(ref taken);
            u.Exit(Code.Jmp_rel32_32, target, target);
            return;
        }
        u.Exit(NearJcc(i.ConditionCode), target, eip);
        u.Exit(Code.Jmp_rel32_32, next, next);
    }

    /// <summary>jmp or call through a register or memory, ret: the target in ECX, then the lookup routine.</summary>
    public static void Indirect(UnitAssembler u, in Instruction i, uint lookupRoutine)
    {
        var a = u.A;
        uint eip = (uint)i.IP;
        bool word = i.Mnemonic == Mnemonic.Ret ? i.Code is Code.Retnw or Code.Retnw_imm16 : i.MemorySize == MemorySize.WordOffset || i.Op0Register.IsGPR16();
        a.mov(__dword_ptr.gs[Saved(Register.ECX)], ecx);
        u.At(eip, TcRole.Boundary);
        if (i.Mnemonic == Mnemonic.Ret)
        {
            if (word) a.movzx(ecx, __word_ptr[esp]); else a.mov(ecx, __dword_ptr[esp]);
            u.At(eip, TcRole.Inside);
            a.lea(esp, __[esp + (word ? 2 : 4) + (i.OpCount > 0 ? i.Immediate16 : 0)]);
        }
        else
        {
            a.AddInstruction(LoadTarget(i, word));
            u.At(eip, TcRole.Inside);
            if (i.Mnemonic == Mnemonic.Call)
            {
                PushReturnAddress(u, i);
                u.At(eip, TcRole.Inside, Register.ECX);
            }
        }
        a.jmp(lookupRoutine);
        u.At(eip, TcRole.Inside, Register.ECX);
    }

    /// <summary>push imm: the guest's return address (a word for a 16-bit call).</summary>
    private static void PushReturnAddress(UnitAssembler u, in Instruction call)
    {
        uint returnAddress = (uint)call.NextIP;
        if (call.Op0Kind == OpKind.NearBranch16 || call.MemorySize == MemorySize.WordOffset || (call.Op0Kind == OpKind.Register && call.Op0Register.IsGPR16()))
            u.A.AddInstruction(Instruction.Create(Code.Push_imm16, (ushort)returnAddress));
        else
            u.A.AddInstruction(Instruction.Create(Code.Pushd_imm32, returnAddress));
    }

    /// <summary>mov ecx, r/m32 (movzx for 16-bit) with the branch's own operand: its memory operand fields are kept.</summary>
    private static Instruction LoadTarget(in Instruction branch, bool word)
    {
        if (branch.Op0Kind == OpKind.Register)
            return Instruction.Create(word ? Code.Movzx_r32_rm16 : Code.Mov_r32_rm32, Register.ECX, branch.Op0Register);
        var load = branch;
        load.IP = 0;
        load.Code = word ? Code.Movzx_r32_rm16 : Code.Mov_r32_rm32;
        load.Op0Kind = OpKind.Register;
        load.Op0Register = Register.ECX;
        load.Op1Kind = OpKind.Memory;
        return load;
    }

    /// <summary>The form of a loop or jcxz with a 32-bit operand size (EIP not truncated) and the same count register.</summary>
    private static Code WithEip32(Code code) => code switch
    {
        Code.Loop_rel8_16_CX => Code.Loop_rel8_32_CX,
        Code.Loop_rel8_16_ECX => Code.Loop_rel8_32_ECX,
        Code.Loope_rel8_16_CX => Code.Loope_rel8_32_CX,
        Code.Loope_rel8_16_ECX => Code.Loope_rel8_32_ECX,
        Code.Loopne_rel8_16_CX => Code.Loopne_rel8_32_CX,
        Code.Loopne_rel8_16_ECX => Code.Loopne_rel8_32_ECX,
        Code.Jcxz_rel8_16 => Code.Jcxz_rel8_32,
        Code.Jecxz_rel8_16 => Code.Jecxz_rel8_32,
        _ => code,
    };

    private static Code NearJcc(ConditionCode condition) => condition switch
    {
        ConditionCode.o => Code.Jo_rel32_32,
        ConditionCode.no => Code.Jno_rel32_32,
        ConditionCode.b => Code.Jb_rel32_32,
        ConditionCode.ae => Code.Jae_rel32_32,
        ConditionCode.e => Code.Je_rel32_32,
        ConditionCode.ne => Code.Jne_rel32_32,
        ConditionCode.be => Code.Jbe_rel32_32,
        ConditionCode.a => Code.Ja_rel32_32,
        ConditionCode.s => Code.Js_rel32_32,
        ConditionCode.ns => Code.Jns_rel32_32,
        ConditionCode.p => Code.Jp_rel32_32,
        ConditionCode.np => Code.Jnp_rel32_32,
        ConditionCode.l => Code.Jl_rel32_32,
        ConditionCode.ge => Code.Jge_rel32_32,
        ConditionCode.le => Code.Jle_rel32_32,
        ConditionCode.g => Code.Jg_rel32_32,
        _ => throw new ArgumentOutOfRangeException(nameof(condition), $"no conditional branch for condition {condition}"),
    };
}
