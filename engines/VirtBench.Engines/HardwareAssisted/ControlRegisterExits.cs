using Iced.Intel;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// Control-register exits of the shared VT-x VMM: the guest changed a CR0 or CR4 bit the VMM owns (paging and
/// protection mode, caching, the NE bit VMX fixes to 1), or ran clts or lmsw against owned bits. The VMM keeps
/// the guest's view in the read shadows and runs the guest with the CR0 the memory strategy needs; CR3 accesses
/// belong to the memory strategy (they exit only under shadow paging).
/// </summary>
internal sealed class ControlRegisterExits(IMemoryVirtualization memory)
{
    private const uint Cr0Pe = 1, Cr0Ts = 8, Cr0Et = 0x10, Cr0Wp = 0x1_0000, Cr0Nw = 0x2000_0000, Cr0Cd = 0x4000_0000, Cr0Pg = 0x8000_0000;
    private const uint Cr4Pse = 0x10, Cr4Valid = 0x7FF;

    private uint _cr0Owned, _cr4Owned;
    private uint _cr0Shadow, _cr4Shadow; // the guest's view of the owned bits, as written to the read shadows

    /// <summary>Writes the masks, the read shadows and the CR0 and CR4 the guest starts with.</summary>
    public void Launch(Vcpu v, VmxSetup setup, uint guestCr0, uint guestCr4)
    {
        (_cr0Owned, _cr4Owned) = (setup.Cr0Owned, setup.Cr4Owned);
        (_cr0Shadow, _cr4Shadow) = (guestCr0, guestCr4);
        v.Vmcs.Write(VmcsField.Cr0GuestHostMask, _cr0Owned);
        v.Vmcs.Write(VmcsField.Cr0ReadShadow, _cr0Shadow);
        v.Vmcs.Write(VmcsField.GuestCr0, memory.RealCr0(guestCr0));
        v.Vmcs.Write(VmcsField.Cr4GuestHostMask, _cr4Owned);
        v.Vmcs.Write(VmcsField.Cr4ReadShadow, _cr4Shadow);
    }

    /// <summary>Emulates the exiting control-register access.</summary>
    public void Handle(Vcpu v)
    {
        var q = CrAccessQualification.Decode(v.Cache.ExitQualification);
        switch (q.Access, q.ControlRegister)
        {
            case (CrAccessType.MovToCr, 0): WriteCr0(v, v.Cpu[q.Register], Mnemonic.Mov); break;
            case (CrAccessType.MovToCr, 4): WriteCr4(v, v.Cpu[q.Register]); break;
            case (CrAccessType.Clts, _): WriteCr0(v, GuestCr0(v) & ~Cr0Ts, Mnemonic.Clts); break;
            case (CrAccessType.Lmsw, _):
                uint cr0 = GuestCr0(v);
                WriteCr0(v, (cr0 & ~0xFu) | (q.LmswSource & 0xFu) | (cr0 & Cr0Pe), Mnemonic.Lmsw); // lmsw cannot clear PE
                break;
            default:
                v.Stop($"unexpected control-register exit ({q.Access} CR{q.ControlRegister}) at EIP 0x{v.Cache.Rip:x8}");
                break;
        }
    }

    /// <summary>The guest's view of CR0: its own bits from the VMCS, the owned ones from the shadow.</summary>
    private uint GuestCr0(Vcpu v) => (v.Vmcs.Read(VmcsField.GuestCr0) & ~_cr0Owned) | (_cr0Shadow & _cr0Owned);

    private void WriteCr0(Vcpu v, uint value, Mnemonic mnemonic)
    {
        // The checks a CPU makes on the new value (the exit came before them): #GP(0), and the instruction does not complete.
        if ((value & (Cr0Pg | Cr0Pe)) == Cr0Pg || (value & (Cr0Nw | Cr0Cd)) == Cr0Nw)
        {
            v.Events.QueueException(Vectors.GP, 0);
            return;
        }
        value |= Cr0Et; // hard-wired
        bool pagingChanged = ((value ^ _cr0Shadow) & (Cr0Pg | Cr0Wp | Cr0Pe)) != 0;
        _cr0Shadow = value;
        v.Vmcs.Write(VmcsField.Cr0ReadShadow, value);
        v.Vmcs.Write(VmcsField.GuestCr0, memory.RealCr0(value));
        if (pagingChanged) memory.PagingControlsChanged(v, _cr0Shadow, _cr4Shadow);
        v.Emulated(mnemonic);
        v.SkipInstruction();
    }

    private void WriteCr4(Vcpu v, uint value)
    {
        if ((value & ~Cr4Valid) != 0)
        {
            v.Events.QueueException(Vectors.GP, 0);
            return;
        }
        bool pagingChanged = ((value ^ _cr4Shadow) & Cr4Pse) != 0;
        _cr4Shadow = value;
        v.Vmcs.Write(VmcsField.Cr4ReadShadow, value);
        v.Vmcs.Write(VmcsField.GuestCr4, value);
        if (pagingChanged) memory.PagingControlsChanged(v, _cr0Shadow, _cr4Shadow);
        v.Emulated(Mnemonic.Mov);
        v.SkipInstruction();
    }
}
