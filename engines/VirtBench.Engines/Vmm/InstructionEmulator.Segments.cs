using Iced.Intel;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.Vmm;

// Segment registers whose selectors carry the ring: reading CS or SS (sensitive: the real RPL is the VMM's ring),
// and loading SS, which faults at ring 1 for the guest kernel's RPL-0 selectors.
public sealed partial class InstructionEmulator
{
    /// <summary>mov r/m, CS or SS: the selector with the guest's ring.</summary>
    private EmulationResult ReadSegment(in Instruction i)
    {
        uint selector = GuestRings.GuestSelector((int)ReadRegister(i.Op1Register));
        return TryStoreWordOperand(i, selector, out var fault) ? Done(i) : fault;
    }

    /// <summary>push CS or SS: the selector with the guest's ring, zero-extended.</summary>
    private EmulationResult PushSegment(in Instruction i)
    {
        uint selector = GuestRings.GuestSelector((int)ReadRegister(i.Op0Register));
        return TryPush(selector, -i.StackPointerIncrement, out var fault) ? Done(i) : fault;
    }

    /// <summary>mov ss, pop ss, lss: the guest's checks against its own descriptor, then the real selector for its ring.</summary>
    private EmulationResult LoadStackSegment(in Instruction i)
    {
        uint selector, offset = 0;
        EmulationResult fault;
        int popped = 0;
        switch (i.Mnemonic)
        {
            case Mnemonic.Pop:
                popped = i.StackPointerIncrement;
                if (!TryPeek(0, popped, out selector, out fault)) return fault;
                break;
            case Mnemonic.Lss:
            {
                int size = i.Op0Register.GetSize();
                uint at = Linear(i, 1);
                if (!TryRead(at, size, out offset, out fault) || !TryRead(at + (uint)size, 2, out selector, out fault)) return fault;
                break;
            }
            default:
                if (!TryReadOperand16(i, 1, out selector, out fault)) return fault;
                break;
        }
        ushort sel = (ushort)selector;
        uint error = selector & 0xFFFC;
        if (error == 0) return GeneralProtection();
        if (!TryReadDescriptor(sel, out uint low, out uint high, out fault)) return fault;
        var guest = Segment.FromDescriptor(sel, low, high);
        if ((sel & 3) != _cpl || guest.Dpl != _cpl || !guest.IsWritable) return GeneralProtection(error);
        if (!guest.Present) return Fault(Vectors.SS, error);
        if (!_cpu.LoadSegmentUnchecked(SegReg.Ss, GuestRings.RealSelector(sel))) return GeneralProtection(error);
        if (popped != 0) AdjustStack(popped);
        if (i.Mnemonic == Mnemonic.Lss) WriteRegister(i.Op0Register, offset);
        else _cpu.SetInterruptShadow(GuestInterruptibility.BlockingByMovSs); // mov ss and pop ss hold interrupts for one instruction
        return Done(i);
    }
}
