using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.Vmm;

// The interrupt flag and EFLAGS: cli, sti, hlt, pushf, popf. The real IF stays set while the guest runs; the
// guest's own IF and IOPL live in the virtual CPU.
public sealed partial class InstructionEmulator
{
    private EmulationResult Cli(in Instruction i)
    {
        if (_cpl > _v.Iopl) return GeneralProtection();
        _v.InterruptFlag = false;
        return Done(i);
    }

    private EmulationResult Sti(in Instruction i)
    {
        if (_cpl > _v.Iopl) return GeneralProtection();
        if (_v.InterruptFlag) return Done(i);
        _v.InterruptFlag = true;
        _cpu.SetInterruptShadow(GuestInterruptibility.BlockingBySti); // interrupts wait one more instruction, as after a real sti (sti; hlt; sti; sysexit)
        var result = Done(i);
        Host.InterruptsEnabled();
        return result;
    }

    private EmulationResult Hlt(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        if (!_v.InterruptFlag)
        {
            _cpu.Stop(new RunOutcome(OutcomeKind.Halted, $"hlt with interrupts disabled at EIP 0x{(uint)i.IP:x8}"));
            return new EmulationResult(EmulationStatus.Stopped);
        }
        var result = Done(i);
        Host.Halted();
        return result;
    }

    /// <summary>pushf: the real flags with the guest's IF and IOPL (never VM or RF).</summary>
    private EmulationResult Pushf(in Instruction i)
    {
        int size = i.Mnemonic == Mnemonic.Pushfd ? 4 : 2;
        uint flags = _v.GuestFlags(_cpu.Eflags) & ~(uint)(FlagBits.VM | FlagBits.RF);
        if (size == 2) flags &= 0xFFFF;
        return TryPush(flags, size, out var fault) ? Done(i) : fault;
    }

    /// <summary>popf: the real flags take what the guest may change except IF and IOPL, which go to the virtual CPU.</summary>
    private EmulationResult Popf(in Instruction i)
    {
        int size = i.Mnemonic == Mnemonic.Popfd ? 4 : 2;
        if (!TryPeek(0, size, out uint value, out var fault)) return fault;
        AdjustStack(size);
        return FinishFlagsLoad(i, (uint)i.NextIP, LoadFlags(value, size));
    }

    /// <summary>Loads EFLAGS as popf/iret do at the guest's level: the virtual IF/IOPL, and the other bits in the real register.</summary>
    private bool LoadFlags(uint value, int size)
    {
        uint changeable = (uint)(FlagBits.Arithmetic | FlagBits.TF | FlagBits.DF | FlagBits.NT);
        if (size == 4) changeable |= (uint)(FlagBits.AC | FlagBits.ID | FlagBits.RF);
        else changeable &= 0xFFFF;
        _cpu.Eflags = (_cpu.Eflags & ~changeable) | (value & changeable) | IfBit;
        return _v.LoadFlags(value, _cpl);
    }

    /// <summary>Completes a popf/iret; if it set the guest's IF, held interrupts may come now (no interrupt shadow, unlike sti).</summary>
    private EmulationResult FinishFlagsLoad(in Instruction i, uint eip, bool interruptsEnabled)
    {
        var result = Continue(i, eip);
        if (interruptsEnabled) Host.InterruptsEnabled();
        return result;
    }
}
