using Iced.Intel;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// Finds the virtualization holes of real x86. With <see cref="SensitiveMode.Observe"/> the simulated CPU tells the
/// engine about each sensitive instruction before it runs without trapping (a window the real VMM does not have);
/// this compares what the instruction does on the real machine with what it would do on the guest's virtual CPU,
/// and records a hole when they differ. It changes nothing: the instruction then runs as real x86 runs it.
/// </summary>
/// <remarks>
/// What differs at ring 1: pushf shows the real IF (always 1) and IOPL; popf (and iret to the same ring) leave IF
/// and IOPL alone instead of loading them; an iret to user mode does not trap, so an interrupt the VMM holds for the
/// kernel's disabled IF stays held until the next trap; mov/push of CS and SS show RPL 1; sgdt, sidt, sldt and str
/// show the VMM's tables; smsw the real CR0; lar, lsl, verr and verw judge the VMM's GDT (DPL 1, truncated limits).
/// At ring 3 the same instructions can differ too (sgdt and sidt reveal the VMM: the "red pill"); a binary translator,
/// which runs only user code directly, has those holes only.
/// </remarks>
internal sealed class HoleDetector(Cpu cpu, VirtualCpu vcpu, InstructionEmulator emulator, VirtualInterrupts interrupts, HoleRecorder recorder)
{
    private const uint If = 1u << 9, NotPushed = (uint)(FlagBits.VM | FlagBits.RF);

    private uint? _unconfirmed;

    /// <summary>
    /// The VMM was entered; <paramref name="faultingInstruction"/> is the linear address of the instruction that
    /// faulted, if a fault brought it in. A sensitive instruction observed just before, that then faulted (a page
    /// fault on its operand, say), did not run: its occurrence is withdrawn, and it is observed again when it reruns.
    /// </summary>
    public void Entered(uint? faultingInstruction)
    {
        if (_unconfirmed is { } address && address == faultingInstruction) recorder.Withdraw(address);
        _unconfirmed = null;
    }

    /// <summary>Counts an occurrence at an address already known (true), or says it is new; either way it awaits confirmation.</summary>
    private bool Seen(uint address)
    {
        _unconfirmed = address;
        return recorder.CountRepeat(address);
    }

    /// <summary>The holes found so far.</summary>
    public IReadOnlyList<Engines.VirtualizationHole> Recorded => recorder.Holes;

    /// <summary>
    /// Compares one sensitive instruction's real and virtual effect; <paramref name="interruptFlag"/> is the guest's IF
    /// as the VMM knows it (after an unseen return to user mode, the real one).
    /// </summary>
    public void Observe(in SensitiveInstruction sensitive, bool interruptFlag)
    {
        var i = sensitive.Instruction;
        _unconfirmed = null;
        int cpl = GuestRings.GuestRing(cpu.Cpl);
        uint address = cpu.Segment(SegReg.Cs).Base + sensitive.Eip;
        switch (i.Mnemonic)
        {
            case Mnemonic.Pushf or Mnemonic.Pushfd:
            {
                uint mask = i.Mnemonic == Mnemonic.Pushfd ? ~NotPushed : 0xFFFF & ~NotPushed;
                uint real = cpu.Eflags & mask, virtualFlags = (vcpu.GuestFlags(real) & ~If | (interruptFlag ? If : 0)) & mask;
                if (real != virtualFlags && !Seen(address))
                    recorder.Add(address, Text(i), $"EFLAGS 0x{real:x8}: {Flags(real)}", $"EFLAGS 0x{virtualFlags:x8}: {Flags(virtualFlags)}");
                break;
            }
            case Mnemonic.Popf or Mnemonic.Popfd:
            {
                int size = i.Mnemonic == Mnemonic.Popfd ? 4 : 2;
                if (!TryPeek(0, size, cpl, out uint value)) break;
                IgnoredFlagsLoad(address, i, value, cpl, interruptFlag);
                break;
            }
            case Mnemonic.Iret or Mnemonic.Iretd:
            {
                int size = i.Mnemonic == Mnemonic.Iretd ? 4 : 2;
                if (!TryPeek((uint)size, size, cpl, out uint cs) || !TryPeek(2u * (uint)size, size, cpl, out uint flags)) break;
                if ((cs & 3) < cpu.Cpl) break; // it faults, and the VMM emulates it
                if ((cs & 3) == 3 && cpl != 3)
                {
                    bool enables = vcpu.FlagsAfterLoad(flags, cpl).InterruptFlag;
                    if (interrupts.Held && enables && !interruptFlag && !Seen(address))
                        recorder.Add(address, Text(i),
                            "a held interrupt stays held in user mode until the next trap: the return to user mode does not trap, so the VMM keeps IF=0",
                            "the held interrupt delivered as soon as the frame's IF=1 is loaded");
                }
                else IgnoredFlagsLoad(address, i, flags, cpl, interruptFlag);
                break;
            }
            case Mnemonic.Mov or Mnemonic.Push:
            {
                var register = i.Mnemonic == Mnemonic.Mov ? i.Op1Register : i.Op0Register;
                ushort real = cpu.Segment((SegReg)(register - Register.ES)).Selector, virtualSelector = GuestRings.GuestSelector(real);
                if (real != virtualSelector && !Seen(address))
                    recorder.Add(address, Text(i), $"{register} = 0x{real:x4} (RPL {real & 3}: the ring the VMM runs it at)", $"0x{virtualSelector:x4} (RPL {virtualSelector & 3})");
                break;
            }
            case Mnemonic.Sgdt or Mnemonic.Sidt:
            {
                bool gdt = i.Mnemonic == Mnemonic.Sgdt;
                var (real, virtualTable) = gdt ? (cpu.Gdtr, vcpu.Gdtr) : (cpu.Idtr, vcpu.Idtr);
                if (real != virtualTable && !Seen(address))
                    recorder.Add(address, Text(i), $"base 0x{real.Base:x8} limit 0x{real.Limit:x4} (the VMM's table)", $"base 0x{virtualTable.Base:x8} limit 0x{virtualTable.Limit:x4} (its own)");
                break;
            }
            case Mnemonic.Sldt or Mnemonic.Str:
            {
                bool ldt = i.Mnemonic == Mnemonic.Sldt;
                ushort real = ldt ? cpu.Ldtr.Selector : cpu.Tr.Selector, virtualSelector = ldt ? vcpu.Ldtr.Selector : vcpu.Tr.Selector;
                if (real != virtualSelector && !Seen(address))
                    recorder.Add(address, Text(i), $"selector 0x{real:x4} (the VMM's)", $"selector 0x{virtualSelector:x4} (its own)");
                break;
            }
            case Mnemonic.Smsw:
            {
                uint mask = i.Op0Kind == OpKind.Register && i.Op0Register.IsGPR32() ? ~0u : 0xFFFF;
                uint real = cpu.Cr0 & mask, virtualCr0 = vcpu.Cr0 & mask;
                if (real != virtualCr0 && !Seen(address))
                    recorder.Add(address, Text(i), $"CR0 0x{real:x8} (the VMM's: paging on)", $"CR0 0x{virtualCr0:x8} (its own)");
                break;
            }
            case Mnemonic.Lar or Mnemonic.Lsl or Mnemonic.Verr or Mnemonic.Verw:
                DescriptorQuery(address, i, cpl);
                break;
        }
    }

    /// <summary>popf, or iret to the same ring: IF and IOPL stay as they are instead of being loaded.</summary>
    private void IgnoredFlagsLoad(uint address, in Instruction i, uint value, int cpl, bool interruptFlag)
    {
        bool loadedIf = cpl <= vcpu.Iopl ? (value & If) != 0 : interruptFlag;
        int loadedIopl = vcpu.FlagsAfterLoad(value, cpl).Iopl;
        if ((loadedIf == interruptFlag && loadedIopl == vcpu.Iopl) || Seen(address)) return;
        recorder.Add(address, Text(i),
            $"IF={Bit(interruptFlag)} IOPL={vcpu.Iopl} unchanged: at ring {cpu.Cpl} with IOPL 0 it loads neither, so the VMM never learns the new IF",
            $"IF={Bit(loadedIf)} IOPL={loadedIopl} loaded from 0x{value:x8}");
    }

    private void DescriptorQuery(uint address, in Instruction i, int cpl)
    {
        bool loads = i.Mnemonic is Mnemonic.Lar or Mnemonic.Lsl;
        int operand = loads ? 1 : 0;
        int kind = i.Mnemonic switch { Mnemonic.Lar => 0, Mnemonic.Lsl => 1, Mnemonic.Verr => 2, _ => 3 };
        uint selector;
        var register = i.GetOpRegister(operand);
        if (i.GetOpKind(operand) == OpKind.Register) selector = cpu[(Reg)(register.IsGPR32() ? register - Register.EAX : register - Register.AX)] & 0xFFFF;
        else if (!vcpu.Memory.TryRead(emulator.LinearAddress(i, operand), 2, cpl == 3, out selector, out _)) return;
        bool real = cpu.QueryDescriptor((ushort)selector, kind, out uint realResult, out bool faulted);
        bool? virtualValid = emulator.Descriptors.Query((ushort)selector, kind, cpl, out uint virtualResult, out _);
        if (faulted || virtualValid is null) return;
        bool differs = real != virtualValid || (real && loads && realResult != virtualResult);
        if (differs && !Seen(address))
            recorder.Add(address, Text(i), $"ZF={Bit(real)} result 0x{realResult:x8} (the VMM's GDT)", $"ZF={Bit(virtualValid.Value)} result 0x{virtualResult:x8} (its own GDT)");
    }

    private bool TryPeek(uint offset, int size, int cpl, out uint value)
    {
        ref var ss = ref cpu.Segment(SegReg.Ss);
        uint sp = ss.Big ? cpu.Esp + offset : (ushort)(cpu.Esp + offset);
        return vcpu.Memory.TryRead(ss.Base + sp, size, cpl == 3, out value, out _);
    }

    private static string Flags(uint flags) => $"IF={Bit((flags & If) != 0)} IOPL={(flags >> 12) & 3}";

    private static int Bit(bool value) => value ? 1 : 0;

    private static string Text(in Instruction i) => i.ToString();
}
