using Iced.Intel;
using VirtBench.Machine.Tests.Guest;
using static VirtBench.Machine.Tests.Differential.InstructionFamily;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>
/// Generates seeded random steps of integer instructions (<see cref="GeneratedStep"/>). Operands are chosen
/// from Iced's opcode tables, so every legacy encoding of a covered mnemonic that is valid in 32-bit code can
/// appear (e.g. the 0x82 alias of group 1, <c>shl r/m,1</c> and <c>shl r/m,imm8</c>, <c>sal</c>). Register operands avoid
/// ESP; memory operands address the scratch area (<see cref="KernelLayout.Scratch"/>, <see cref="ScratchBytes"/>
/// bytes), absolutely or through base and index registers the step loads first. Operands that could fault
/// (divisors, string pointers, bit offsets into memory) are set up so they do not.
/// </summary>
internal sealed class InstructionMixGenerator
{
    /// <summary>Bytes of scratch memory the steps work on (and the dump checksums).</summary>
    public const int ScratchBytes = 512;

    /// <summary>Deepest the generated code lets the stack grow (bytes).</summary>
    public const int MaxStackDepth = 256;

    private const uint CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;

    private readonly Random _rng;
    private int _stackDepth;

    /// <summary>A generator whose output depends only on <paramref name="seed"/>.</summary>
    public InstructionMixGenerator(int seed) => _rng = new Random(seed);

    /// <summary>Random initial values for EAX..EDI (ESP's slot is ignored), biased towards edge values.</summary>
    public uint[] InitialRegisters() => Enumerable.Range(0, 8).Select(_ => Value(4)).ToArray();

    /// <summary>Random initial arithmetic flags and DF, as an EFLAGS value.</summary>
    public uint InitialFlags() => 0x2 | ((uint)_rng.Next() & (CF | PF | AF | ZF | SF | OF | 0x400));

    /// <summary>Random initial contents of the scratch area.</summary>
    public uint[] InitialScratch() => Enumerable.Range(0, ScratchBytes / 4).Select(_ => Value(4)).ToArray();

    /// <summary>Starts a new sequence: the stack is empty again.</summary>
    public void ResetStack() => _stackDepth = 0;

    /// <summary>Generates one step of the family.</summary>
    public GeneratedStep Step(InstructionFamily family) => family switch
    {
        DataMovement => DataMovementStep(),
        Arithmetic or Logic => Generic(family, Pick(EncodingCatalog.Codes[family]), edgeValues: true),
        Stack => StackStep(),
        FlagControl => FlagControlStep(),
        Conditional => ConditionalStep(),
        ShiftRotate => ShiftStep(),
        MultiplyDivide => MultiplyDivideStep(),
        BitOps => BitStep(),
        StringOps => StringStep(),
        CompareExchange => CompareExchangeStep(),
        Bcd => BcdStep(),
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    // ---- Families ----

    private GeneratedStep DataMovementStep()
    {
        if (Chance(0.05))
        {
            // xlat: AL = [EBX + AL], with the table in the scratch area.
            var step = new GeneratedStep(DataMovement);
            step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, Register.EBX, KernelLayout.Scratch + (uint)_rng.Next(0, ScratchBytes - 256)));
            if (Chance(0.5)) step.Setup.Add(Instruction.Create(Code.Mov_r8_imm8, Register.AL, _rng.Next(256)));
            step.Tested.Add(Decode(0xD7));
            return step;
        }
        var code = Pick(EncodingCatalog.Codes[DataMovement]);
        return code.Mnemonic() == Mnemonic.Lea ? LeaStep(code) : Generic(DataMovement, code, edgeValues: true);
    }

    private GeneratedStep LeaStep(Code code)
    {
        var step = new GeneratedStep(DataMovement);
        var destination = code.ToOpCode().Op0Kind == OpCodeOperandKind.r16_reg ? Reg16() : Reg32();
        MemoryOperand address;
        if (Chance(0.25))
        {
            // 16-bit addressing (0x67): [bx|bp + si|di + disp16], any part optional.
            var b = Chance(0.7) ? (Chance(0.5) ? Register.BX : Register.BP) : Register.None;
            var x = Chance(0.7) ? (Chance(0.5) ? Register.SI : Register.DI) : Register.None;
            if (b == Register.None) (b, x) = (x, Register.None); // [si] and [di] alone are base registers to Iced
            int disp = b == Register.None && x == Register.None ? _rng.Next(0, 0x10000) : _rng.Next(-0x8000, 0x8000);
            address = new MemoryOperand(b, x, 1, disp, b == Register.None && x == Register.None ? 2 : disp is >= -128 and < 128 ? 1 : 2);
        }
        else
        {
            var b = Chance(0.85) ? Register.EAX + _rng.Next(8) : Register.None;
            var x = Chance(0.6) ? Register.EAX + Pick(0, 1, 2, 3, 5, 6, 7) : Register.None;
            long disp = Chance(0.3) ? 0 : (int)Value(4);
            int displSize = b == Register.None ? 4 : disp is >= -128 and < 128 ? 1 : 4;
            address = new MemoryOperand(b, x, x == Register.None ? 1 : Pick(1, 2, 4, 8), disp, displSize);
        }
        step.Tested.Add(Instruction.Create(code, destination, address));
        return step;
    }

    private GeneratedStep StackStep()
    {
        var step = new GeneratedStep(Stack);
        bool canPush = _stackDepth + 4 <= MaxStackDepth, canPop = _stackDepth >= 4;
        int choice = _rng.Next(10);
        if (choice < 7)
        {
            // push (register, ESP included; memory; immediate) or pop (register other than ESP; memory), 16 or 32 bits.
            var mnemonic = (choice < 4 && canPush) || !canPop ? Mnemonic.Push : Mnemonic.Pop;
            var code = Pick(EncodingCatalog.Codes[Stack].Where(c => c.Mnemonic() == mnemonic).ToArray());
            bool word = code.ToOpCode().OperandSize == 16;
            if (mnemonic == Mnemonic.Push && code.ToOpCode().Op0Kind is OpCodeOperandKind.r16_opcode or OpCodeOperandKind.r32_opcode)
                step.Tested.Add(Instruction.Create(code, word ? Register.AX + _rng.Next(8) : Register.EAX + _rng.Next(8)));
            else step.Tested.Add(Fill(step, code));
            _stackDepth += (mnemonic == Mnemonic.Push ? 1 : -1) * (word ? 2 : 4);
        }
        else if (choice == 7)
        {
            // pusha(d) or popa(d): popa restores every register but ESP from what earlier pushes left.
            bool word = Chance(0.3);
            int size = word ? 16 : 32;
            bool canPushAll = _stackDepth + size <= MaxStackDepth;
            bool pop = _stackDepth >= size && (!canPushAll || Chance(0.5));
            step.Tested.Add(Instruction.Create(pop ? (word ? Code.Popaw : Code.Popad) : (word ? Code.Pushaw : Code.Pushad)));
            _stackDepth += pop ? -size : size; // MaxStackDepth is at least twice the largest size, so one of the two fits
        }
        else if (choice == 8)
        {
            if (Chance(0.4) && canPush)
            {
                bool word = Chance(0.3);
                step.Tested.Add(Instruction.Create(word ? Code.Pushfw : Code.Pushfd));
                _stackDepth += word ? 2 : 4;
            }
            else
            {
                // push imm; popf with controlled bits: OSZAPC, DF, IOPL, NT, AC and ID (never TF or IF).
                uint bits = (uint)_rng.Next() & (CF | PF | AF | ZF | SF | OF | 0x400 | 0x3000 | 0x4000 | 0x40000 | 0x200000);
                bool word = Chance(0.3);
                step.Tested.Add(word ? Instruction.Create(Code.Push_imm16, (int)(bits & 0xFFFF)) : Instruction.Create(Code.Pushd_imm32, bits | 2));
                step.Tested.Add(Instruction.Create(word ? Code.Popfw : Code.Popfd));
            }
        }
        else
        {
            // enter size, level; leave. EBP first points into the scratch area, which enter copies frame pointers from.
            step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, Register.EBP, KernelLayout.Scratch + 64 + (uint)_rng.Next(0, ScratchBytes - 64) / 4 * 4));
            step.Tested.Add(Instruction.Create(Code.Enterd_imm16_imm8, _rng.Next(0, 64), _rng.Next(0, 4)));
            step.Tested.Add(Instruction.Create(Code.Leaved));
        }
        return step;
    }

    private GeneratedStep FlagControlStep()
    {
        var code = Pick(EncodingCatalog.Codes[FlagControl]);
        var step = new GeneratedStep(FlagControl);
        if (code == Code.Sahf && Chance(0.7)) step.Setup.Add(Instruction.Create(Code.Mov_r8_imm8, Register.AH, _rng.Next(256)));
        step.Tested.Add(Instruction.Create(code));
        return step;
    }

    private GeneratedStep ConditionalStep()
    {
        int choice = _rng.Next(10);
        if (choice < 3) return Generic(Conditional, Pick(EncodingCatalog.Codes[Conditional].Where(c => c.Mnemonic().ToString().StartsWith("Set")).ToArray()), edgeValues: false);
        if (choice < 6) return Generic(Conditional, Pick(EncodingCatalog.Codes[Conditional].Where(c => c.Mnemonic().ToString().StartsWith("Cmov")).ToArray()), edgeValues: false);

        var step = new GeneratedStep(Conditional);
        if (choice == 9 && _stackDepth + 8 <= MaxStackDepth) return IndirectTransferStep();
        // A forward branch over a marker: the dump shows whether it was taken.
        var branches = EncodingCatalog.Codes[Conditional].Where(c => c.Mnemonic() is not (Mnemonic.Call or Mnemonic.Jmp or Mnemonic.Ret)
            && c.ToOpCode().Op0Kind is OpCodeOperandKind.br32_1 or OpCodeOperandKind.br32_4).ToArray();
        var code = Pick(branches);
        var mnemonic = code.Mnemonic();
        if (mnemonic is Mnemonic.Loop or Mnemonic.Loope or Mnemonic.Loopne or Mnemonic.Jecxz or Mnemonic.Jcxz && Chance(0.7))
            step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, Register.ECX, Pick(0u, 1u, 2u, 0x10000u, 0x10001u, 0xFFFF_FFFFu)));
        step.Tested.Add(Instruction.CreateBranch(code, 0));
        var marker = Reg32();
        step.Tested.Add(Instruction.Create(Code.Mov_r32_imm32, marker, 0x5A5A_0000u | (uint)_rng.Next(0x10000)));
        return step;
    }

    /// <summary>call rel32; jmp/call through a register or memory; push + ret (imm16): all to the end of the step.</summary>
    private GeneratedStep IndirectTransferStep()
    {
        var step = new GeneratedStep(Conditional);
        int kind = _rng.Next(6);
        if (kind == 0)
        {
            step.Tested.Add(Instruction.CreateBranch(Code.Call_rel32_32, 0));
            _stackDepth += 4;
            return step;
        }
        if (kind == 5)
        {
            // push end; ret, or push padding; push end; ret 4.
            bool release = Chance(0.5);
            if (release) step.Tested.Add(Instruction.Create(Code.Pushd_imm32, Value(4)));
            step.EndAddressImmediates.Add(step.Tested.Count);
            step.Tested.Add(Instruction.Create(Code.Pushd_imm32, 0u));
            step.Tested.Add(release ? Instruction.Create(Code.Retnd_imm16, 4) : Instruction.Create(Code.Retnd));
            return step;
        }
        bool call = kind is 2 or 4;
        if (call) _stackDepth += 4;
        if (kind is 1 or 2)
        {
            var target = Reg32();
            step.EndAddressImmediates.Add(step.Setup.Count);
            step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, target, 0u));
            step.Tested.Add(Instruction.Create(call ? Code.Call_rm32 : Code.Jmp_rm32, target));
        }
        else
        {
            var memory = Memory(step, 4, 0);
            step.EndAddressImmediates.Add(step.Setup.Count);
            step.Setup.Add(Instruction.Create(Code.Mov_rm32_imm32, in memory, 0u));
            step.Tested.Add(Instruction.Create(call ? Code.Call_rm32 : Code.Jmp_rm32, in memory));
        }
        return step;
    }

    private GeneratedStep ShiftStep()
    {
        var code = Pick(EncodingCatalog.Codes[ShiftRotate]);
        var step = new GeneratedStep(ShiftRotate);
        var info = code.ToOpCode();
        var mnemonic = code.Mnemonic();
        bool doubleShift = mnemonic is Mnemonic.Shld or Mnemonic.Shrd;
        int bits = info.OperandSize is 16 or 32 ? info.OperandSize : 8;
        int countKindIndex = info.OpCount - 1;
        var countKind = info.GetOpKind(countKindIndex);

        int count = countKind switch
        {
            OpCodeOperandKind.imm8_const_1 => 1,
            _ => Pick(0, 1, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 255, _rng.Next(256)),
        };
        if (doubleShift && bits == 16 && (count & 31) > 16) count = _rng.Next(0, 17); // 16-bit shld/shrd by more than 16: result undefined
        var avoid = countKind == OpCodeOperandKind.cl ? RegSet(Register.ECX) : 0;
        var instruction = Fill(step, code, avoid, immediate: countKind == OpCodeOperandKind.imm8 ? count : null);
        if (countKind == OpCodeOperandKind.cl) step.Setup.Add(Instruction.Create(Code.Mov_r8_imm8, Register.CL, count));
        step.Tested.Add(instruction);

        int masked = count & 31;
        uint undefined = 0;
        if (masked != 0)
        {
            if (masked != 1) undefined |= OF;
            bool rotate = mnemonic is Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr;
            if (!rotate) undefined |= AF;
            if (mnemonic is Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr && masked >= bits) undefined |= CF;
        }
        step.UndefinedFlags = undefined;
        return step;
    }

    private GeneratedStep MultiplyDivideStep()
    {
        var code = Pick(EncodingCatalog.Codes[MultiplyDivide]);
        var mnemonic = code.Mnemonic();
        if (mnemonic is Mnemonic.Mul or Mnemonic.Imul)
        {
            var mul = Generic(MultiplyDivide, code, edgeValues: true);
            mul.UndefinedFlags = SF | ZF | AF | PF;
            return mul;
        }

        // div/idiv: a dividend and divisor whose quotient fits, so there is no #DE.
        var step = new GeneratedStep(MultiplyDivide) { UndefinedFlags = CF | PF | AF | ZF | SF | OF };
        int bits = code.ToOpCode().OperandSize is 16 or 32 ? code.ToOpCode().OperandSize : 8;
        bool signed = mnemonic == Mnemonic.Idiv;
        (long dividend, long divisor) = SafeDivision(bits, signed);
        ulong wide = (ulong)dividend;
        var avoid = RegSet(Register.EAX, Register.EDX);
        if (bits == 8) step.Setup.Add(Instruction.Create(Code.Mov_r16_imm16, Register.AX, (int)(wide & 0xFFFF)));
        else if (bits == 16)
        {
            step.Setup.Add(Instruction.Create(Code.Mov_r16_imm16, Register.AX, (int)(wide & 0xFFFF)));
            step.Setup.Add(Instruction.Create(Code.Mov_r16_imm16, Register.DX, (int)((wide >> 16) & 0xFFFF)));
        }
        else
        {
            step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, Register.EAX, (uint)wide));
            step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, Register.EDX, (uint)(wide >> 32)));
        }
        uint divisorBits = (uint)divisor & Mask(bits);
        if (Chance(0.5))
        {
            var register = bits == 8 ? Register.AL + Pick(1, 3, 5, 7) : bits == 16 ? Register.AX + Pick(1, 3, 5, 6, 7) : Register.EAX + Pick(1, 3, 5, 6, 7);
            step.Setup.Add(MovImmediate(register, divisorBits));
            step.Tested.Add(Instruction.Create(code, register));
        }
        else
        {
            var memory = Memory(step, bits / 8, avoid);
            step.Setup.Add(MovImmediate(memory, bits, divisorBits));
            step.Tested.Add(Instruction.Create(code, memory));
        }
        return step;
    }

    private (long Dividend, long Divisor) SafeDivision(int bits, bool signed)
    {
        if (!signed)
        {
            ulong max = Mask(bits);
            ulong d = Math.Max(1, Value(bits / 8) & max);
            ulong q = Value(bits / 8) & max;
            ulong r = (ulong)_rng.NextInt64(0, (long)Math.Min(d, long.MaxValue));
            return ((long)(q * d + r), (long)d);
        }
        long min = -(1L << (bits - 1)), maxSigned = (1L << (bits - 1)) - 1;
        long divisor;
        do divisor = SignExtend(Value(bits / 8), bits); while (divisor == 0);
        long quotient = Math.Clamp(SignExtend(Value(bits / 8), bits), min, maxSigned);
        long remainder = _rng.NextInt64(0, Math.Abs(divisor));
        long product = quotient * divisor;
        if (product < 0 || (product == 0 && Chance(0.5))) remainder = -remainder; // the remainder has the dividend's sign
        return (product + remainder, divisor);
    }

    private GeneratedStep BitStep()
    {
        var code = Pick(EncodingCatalog.Codes[BitOps]);
        var step = new GeneratedStep(BitOps);
        var info = code.ToOpCode();
        if (code.Mnemonic() is Mnemonic.Bsf or Mnemonic.Bsr)
        {
            step.UndefinedFlags = CF | OF | SF | AF | PF;
            // A zero source leaves the destination unchanged (AMD documents it; Intel parts and QEMU behave so).
            var scan = Fill(step, code);
            if (Chance(0.25))
            {
                if (scan.Op1Kind == OpKind.Register) step.Setup.Add(MovImmediate(scan.Op1Register, 0));
                else step.Setup.Add(MovImmediate(MemoryOf(scan), info.OperandSize, 0));
            }
            step.Tested.Add(scan);
            return step;
        }

        step.UndefinedFlags = OF | SF | AF | PF;
        if (info.Op1Kind is OpCodeOperandKind.imm8)
        {
            step.Tested.Add(Fill(step, code, immediate: Pick(0, 1, 7, 8, 15, 16, 31, 32, 63, 255, _rng.Next(256))));
            return step;
        }
        // bt r/m, r: with a memory operand the offset reaches outside it, so keep the offset small and the operand mid-scratch.
        int bits = info.OperandSize;
        var offset = bits == 16 ? Reg16() : Reg32();
        var offset32 = offset.GetFullRegister32();
        if (Chance(0.5))
        {
            step.Setup.Add(MovImmediate(offset, (uint)_rng.Next(-1024, 1024) & Mask(bits)));
            var memory = Memory(step, bits / 8, RegSet(offset32), low: 160, high: ScratchBytes - 160);
            step.Tested.Add(Instruction.Create(code, memory, offset));
        }
        else
        {
            var destination = bits == 16 ? Reg16() : Reg32();
            if (Chance(0.5)) step.Setup.Add(MovImmediate(offset, (uint)_rng.Next(0, 256)));
            step.Tested.Add(Instruction.Create(code, destination, offset));
        }
        return step;
    }

    private GeneratedStep StringStep()
    {
        var step = new GeneratedStep(StringOps);
        int kind = _rng.Next(5); // movs, cmps, scas, lods, stos
        int size = Pick(1, 2, 4);
        bool compares = kind is 1 or 2;
        var rep = _rng.Next(3) switch
        {
            0 => RepPrefixKind.None,
            1 => RepPrefixKind.Repe,
            _ => compares ? RepPrefixKind.Repne : RepPrefixKind.Repe,
        };
        step.Setup.Add(Instruction.Create(Chance(0.5) ? Code.Cld : Code.Std));
        step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, Register.ESI, KernelLayout.Scratch + (uint)_rng.Next(48, ScratchBytes - 48)));
        step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, Register.EDI, KernelLayout.Scratch + (uint)_rng.Next(48, ScratchBytes - 48)));
        if (rep != RepPrefixKind.None) step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, Register.ECX, (uint)_rng.Next(0, 9)));
        if (kind == 1 && Chance(0.3))
            step.Setup.Add(Instruction.Create(Code.Mov_r32_rm32, Register.EDI, Register.ESI)); // equal operands: repe runs to the end
        if (kind == 2 && Chance(0.3))
            step.Setup.Add(size switch // the accumulator equal to the first element
            {
                1 => Instruction.Create(Code.Mov_r8_rm8, Register.AL, new MemoryOperand(Register.EDI)),
                2 => Instruction.Create(Code.Mov_r16_rm16, Register.AX, new MemoryOperand(Register.EDI)),
                _ => Instruction.Create(Code.Mov_r32_rm32, Register.EAX, new MemoryOperand(Register.EDI)),
            });
        step.Tested.Add((kind, size) switch
        {
            (0, 1) => Instruction.CreateMovsb(32, Register.None, rep),
            (0, 2) => Instruction.CreateMovsw(32, Register.None, rep),
            (0, _) => Instruction.CreateMovsd(32, Register.None, rep),
            (1, 1) => Instruction.CreateCmpsb(32, Register.None, rep),
            (1, 2) => Instruction.CreateCmpsw(32, Register.None, rep),
            (1, _) => Instruction.CreateCmpsd(32, Register.None, rep),
            (2, 1) => Instruction.CreateScasb(32, rep),
            (2, 2) => Instruction.CreateScasw(32, rep),
            (2, _) => Instruction.CreateScasd(32, rep),
            (3, 1) => Instruction.CreateLodsb(32, Register.None, rep),
            (3, 2) => Instruction.CreateLodsw(32, Register.None, rep),
            (3, _) => Instruction.CreateLodsd(32, Register.None, rep),
            (_, 1) => Instruction.CreateStosb(32, rep),
            (_, 2) => Instruction.CreateStosw(32, rep),
            _ => Instruction.CreateStosd(32, rep),
        });
        return step;
    }

    private GeneratedStep CompareExchangeStep()
    {
        var code = Pick(EncodingCatalog.Codes[CompareExchange]);
        var step = new GeneratedStep(CompareExchange);
        switch (code.Mnemonic())
        {
            case Mnemonic.Cmpxchg8b:
            {
                var memory = Memory(step, 8, RegSet(Register.EAX, Register.EBX, Register.ECX, Register.EDX));
                if (Chance(0.5))
                {
                    // EDX:EAX equal to the operand: the exchange happens.
                    step.Setup.Add(Instruction.Create(Code.Mov_r32_rm32, Register.EAX, memory));
                    step.Setup.Add(Instruction.Create(Code.Mov_r32_rm32, Register.EDX, WithDisplacement(memory, 4)));
                }
                step.Tested.Add(Instruction.Create(code, memory));
                return step;
            }
            case Mnemonic.Cmpxchg:
            {
                var instruction = Fill(step, code, RegSet(Register.EAX));
                if (Chance(0.5))
                {
                    // The accumulator equal to the destination: the exchange happens.
                    int bits = code.ToOpCode().OperandSize is 16 or 32 ? code.ToOpCode().OperandSize : 8;
                    var accumulator = bits == 8 ? Register.AL : bits == 16 ? Register.AX : Register.EAX;
                    var move = bits == 8 ? Code.Mov_r8_rm8 : bits == 16 ? Code.Mov_r16_rm16 : Code.Mov_r32_rm32;
                    step.Setup.Add(instruction.Op0Kind == OpKind.Register
                        ? Instruction.Create(move, accumulator, instruction.Op0Register)
                        : Instruction.Create(move, accumulator, MemoryOf(instruction)));
                }
                step.Tested.Add(instruction);
                return step;
            }
            default:
                return Generic(CompareExchange, code, edgeValues: true);
        }
    }

    private GeneratedStep BcdStep()
    {
        var code = Pick(EncodingCatalog.Codes[Bcd]);
        var step = new GeneratedStep(Bcd)
        {
            UndefinedFlags = code.Mnemonic() switch
            {
                Mnemonic.Daa or Mnemonic.Das => OF,
                Mnemonic.Aaa or Mnemonic.Aas => OF | SF | ZF | PF,
                _ => OF | AF | CF,
            },
        };
        if (Chance(0.6)) step.Setup.Add(Instruction.Create(Code.Mov_r16_imm16, Register.AX, _rng.Next(0x10000)));
        step.Tested.Add(code switch
        {
            Code.Aam_imm8 => Instruction.Create(code, Pick(10, 16, 1, 7, 255, _rng.Next(1, 256))), // aam 0 is #DE
            Code.Aad_imm8 => Instruction.Create(code, Pick(10, 16, 0, 1, 255, _rng.Next(256))),
            _ => Instruction.Create(code),
        });
        return step;
    }

    // ---- Generic operand filling from Iced's opcode tables ----

    /// <summary>A step with one instruction whose operands are chosen at random (optionally loading edge values first).</summary>
    private GeneratedStep Generic(InstructionFamily family, Code code, bool edgeValues)
    {
        var step = new GeneratedStep(family) { UndefinedFlags = code.Mnemonic() is Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test ? AF : 0 };
        var instruction = Fill(step, code);
        if (edgeValues)
        {
            // Load edge values into some operands, before the address registers are loaded (so these win).
            var edges = new List<Instruction>();
            for (int n = 0; n < instruction.OpCount; n++)
            {
                if (!Chance(0.3)) continue;
                if (instruction.GetOpKind(n) == OpKind.Register && instruction.GetOpRegister(n) != Register.ESP && instruction.GetOpRegister(n) != Register.SP)
                    edges.Add(MovImmediate(instruction.GetOpRegister(n), Edge(instruction.GetOpRegister(n).GetSize())));
                else if (instruction.GetOpKind(n) == OpKind.Memory && instruction.MemorySize.GetSize() is 1 or 2 or 4)
                    step.Setup.Add(MovImmediate(MemoryOf(instruction), instruction.MemorySize.GetSize() * 8, Edge(instruction.MemorySize.GetSize())));
            }
            step.Setup.InsertRange(0, edges);
        }
        step.Tested.Add(instruction);
        return step;
    }

    /// <summary>
    /// Creates an instruction of <paramref name="code"/> with random operands: registers other than ESP (and those
    /// in <paramref name="avoid"/> for memory addressing), memory in the scratch area, random immediates. Setup for
    /// address registers goes to <paramref name="step"/>.
    /// </summary>
    private Instruction Fill(GeneratedStep step, Code code, uint avoid = 0, int? immediate = null)
    {
        var info = code.ToOpCode();
        var registers = new List<Register>();
        MemoryOperand? memory = null;
        var immediates = new List<long>();
        for (int n = 0; n < info.OpCount; n++)
        {
            switch (info.GetOpKind(n))
            {
                case OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode: registers.Add(Reg8()); break;
                case OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_opcode: registers.Add(Reg16()); break;
                case OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_opcode: registers.Add(Reg32()); break;
                case OpCodeOperandKind.al: registers.Add(Register.AL); break;
                case OpCodeOperandKind.cl: registers.Add(Register.CL); break;
                case OpCodeOperandKind.ax: registers.Add(Register.AX); break;
                case OpCodeOperandKind.eax: registers.Add(Register.EAX); break;
                case OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem when Chance(0.5):
                    registers.Add(info.GetOpKind(n) switch
                    {
                        OpCodeOperandKind.r8_or_mem => Reg8(),
                        OpCodeOperandKind.r16_or_mem => Reg16(),
                        _ => Reg32(),
                    });
                    break;
                case OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.mem:
                    memory = Memory(step, Math.Max(1, info.MemorySize.GetSize()), avoid);
                    registers.Add(Register.None); // a placeholder: the memory operand's position
                    break;
                case OpCodeOperandKind.mem_offs:
                    memory = new MemoryOperand(Register.None, KernelLayout.Scratch + _rng.Next(0, ScratchBytes - 4), 4);
                    registers.Add(Register.None);
                    break;
                case OpCodeOperandKind.imm8_const_1: immediates.Add(1); break;
                case OpCodeOperandKind.imm8: immediates.Add(immediate ?? (long)(Value(1) & 0xFF)); break;
                case OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32: immediates.Add(immediate ?? (sbyte)Value(1)); break;
                case OpCodeOperandKind.imm16: immediates.Add(immediate ?? (long)(Value(2) & 0xFFFF)); break;
                case OpCodeOperandKind.imm32: immediates.Add(immediate ?? (int)Value(4)); break;
                default: throw new InvalidOperationException($"operand kind {info.GetOpKind(n)} of {code} is not generated");
            }
        }
        return Create(code, registers, memory, immediates);
    }

    private static Instruction Create(Code code, List<Register> registers, MemoryOperand? memory, List<long> immediates)
    {
        // registers holds the register and memory operands in order (Register.None marks the memory one); immediates follow.
        var m = memory ?? default;
        int imm0 = immediates.Count > 0 ? (int)immediates[0] : 0;
        return (registers.Count, immediates.Count) switch
        {
            (0, 0) => Instruction.Create(code),
            (0, 1) => Instruction.Create(code, imm0),
            (1, 0) => registers[0] == Register.None ? Instruction.Create(code, in m) : Instruction.Create(code, registers[0]),
            (1, 1) => registers[0] == Register.None ? Instruction.Create(code, in m, imm0) : Instruction.Create(code, registers[0], imm0),
            (2, 0) when registers[0] == Register.None => Instruction.Create(code, in m, registers[1]),
            (2, 0) when registers[1] == Register.None => Instruction.Create(code, registers[0], in m),
            (2, 0) => Instruction.Create(code, registers[0], registers[1]),
            (2, 1) when registers[0] == Register.None => Instruction.Create(code, in m, registers[1], imm0),
            (2, 1) when registers[1] == Register.None => Instruction.Create(code, registers[0], in m, imm0),
            (2, 1) => Instruction.Create(code, registers[0], registers[1], imm0),
            (3, 0) when registers[0] == Register.None => Instruction.Create(code, in m, registers[1], registers[2]),
            (3, 0) => Instruction.Create(code, registers[0], registers[1], registers[2]),
            _ => throw new InvalidOperationException($"no operand pattern for {code}"),
        };
    }

    /// <summary>
    /// A memory operand of <paramref name="size"/> bytes inside the scratch area (between <paramref name="low"/> and
    /// <paramref name="high"/>): absolute, or [base + index*scale + disp] with base and index loaded in the setup.
    /// </summary>
    private MemoryOperand Memory(GeneratedStep step, int size, uint avoid, int low = 0, int high = ScratchBytes)
    {
        uint target = KernelLayout.Scratch + (uint)_rng.Next(low, high - size + 1);
        if (Chance(0.5)) return new MemoryOperand(Register.None, target, 4);
        var free = new[] { 0, 1, 2, 3, 5, 6, 7 }.Where(r => (avoid & (1u << r)) == 0).ToArray();
        var baseRegister = Register.EAX + Pick(free);
        var index = Chance(0.5) ? Register.EAX + Pick(free.Where(r => Register.EAX + r != baseRegister).ToArray()) : Register.None;
        int scale = index == Register.None ? 1 : Pick(1, 2, 4, 8);
        uint indexValue = index == Register.None ? 0 : (uint)_rng.Next(0, 16);
        int disp = Pick(0, _rng.Next(-128, 128), _rng.Next(-100000, 100000));
        step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, baseRegister, target - indexValue * (uint)scale - (uint)disp));
        if (index != Register.None) step.Setup.Add(Instruction.Create(Code.Mov_r32_imm32, index, indexValue));
        return new MemoryOperand(baseRegister, index, scale, disp, disp == 0 ? 0 : disp is >= -128 and < 128 ? 1 : 4);
    }

    private static MemoryOperand MemoryOf(in Instruction i) =>
        new(i.MemoryBase, i.MemoryIndex, i.MemoryIndexScale, (int)i.MemoryDisplacement32, i.MemoryDisplSize);

    private static MemoryOperand WithDisplacement(MemoryOperand m, int extra) =>
        new(m.Base, m.Index, m.Scale, m.Displacement + extra, m.Base == Register.None ? 4 : 4);

    private static Instruction MovImmediate(Register register, uint value) => register.GetSize() switch
    {
        1 => Instruction.Create(Code.Mov_r8_imm8, register, (int)(value & 0xFF)),
        2 => Instruction.Create(Code.Mov_r16_imm16, register, (int)(value & 0xFFFF)),
        _ => Instruction.Create(Code.Mov_r32_imm32, register, value),
    };

    private static Instruction MovImmediate(MemoryOperand memory, int bits, uint value) => bits switch
    {
        8 => Instruction.Create(Code.Mov_rm8_imm8, in memory, (int)(value & 0xFF)),
        16 => Instruction.Create(Code.Mov_rm16_imm16, in memory, (int)(value & 0xFFFF)),
        _ => Instruction.Create(Code.Mov_rm32_imm32, in memory, value),
    };

    private static Instruction Decode(params byte[] bytes)
    {
        var decoder = Iced.Intel.Decoder.Create(32, new ByteArrayCodeReader(bytes));
        decoder.Decode(out var instruction);
        return instruction;
    }

    // ---- Values ----

    private Register Reg8() => Register.AL + _rng.Next(8);
    private Register Reg16() => Register.AX + Pick(0, 1, 2, 3, 5, 6, 7);
    private Register Reg32() => Register.EAX + Pick(0, 1, 2, 3, 5, 6, 7);

    private static uint RegSet(params Register[] registers) => registers.Aggregate(0u, (set, r) => set | 1u << (r.GetFullRegister32() - Register.EAX));

    private static uint Mask(int bits) => bits == 32 ? 0xFFFF_FFFF : (1u << bits) - 1;

    private static long SignExtend(uint value, int bits) => bits == 32 ? (int)value : bits == 16 ? (short)value : (sbyte)value;

    /// <summary>A random value of <paramref name="bytes"/> bytes: an edge value a quarter of the time.</summary>
    private uint Value(int bytes) => Chance(0.25) ? Edge(bytes) : (uint)_rng.NextInt64(0, 1L << (8 * bytes));

    private uint Edge(int bytes)
    {
        uint sign = 1u << (8 * bytes - 1);
        uint all = bytes == 4 ? 0xFFFF_FFFF : (1u << (8 * bytes)) - 1;
        return Pick(0u, 1u, 2u, sign - 1, sign, sign + 1, all, all - 1, 0x0Fu, 0x10u, 0x7Fu, 0x80u, 0xFFu, 0x100u, 0x8000u, 0x9999_9999u & all) & all;
    }

    private bool Chance(double p) => _rng.NextDouble() < p;

    private T Pick<T>(params T[] items) => items[_rng.Next(items.Length)];
}
