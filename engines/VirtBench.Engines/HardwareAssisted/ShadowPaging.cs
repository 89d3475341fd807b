using Iced.Intel;
using VirtBench.Engines.Vmm;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// Memory virtualization by shadow page tables (hw-shadow, first-generation VT-x): the MMU walks the VMM's shadows
/// (<see cref="ShadowPageTables"/>, shared with the software VMMs), whose root the VMM writes to the VMCS's guest
/// CR3. For the shadows to follow the guest's tables, the guest's CR3 loads exit, and so do its CR3 reads (which must
/// return its own CR3, as KVM's CR3-store exiting does), invlpg and every page fault: a hidden fault is filled
/// without the guest seeing it, the guest's own fault is injected with its CR2 and error code, and a write to a
/// traced page table is emulated and propagated. The guest runs with CR0.PE, PG and WP on whatever it asked for (WP
/// so that its kernel's writes to traced pages fault); changes of its PG, PE, WP and PSE exit and discard the shadows.
/// Translations carry no VPID, as on the first VT-x processors: every VM entry flushes the TLB.
/// </summary>
/// <remarks>
/// VMCS accesses, as KVM makes them (besides the exit reason and IDT-vectoring information every exit reads): a #PF
/// exit reads the exit interruption information, its error code and the qualification (the address); injecting the
/// guest's fault writes the entry information and error code; emulating a traced write reads RIP, the CS base, the SS
/// access rights (the CPL) and RFLAGS, and writes RIP and RFLAGS back; a CR3 load or store and invlpg read the
/// qualification and complete the instruction (length, RIP, interruptibility read; RIP written), a CR3 load also
/// writes the new shadow root to the guest CR3.
/// </remarks>
internal sealed class ShadowPaging : IMemoryVirtualization
{
    /// <summary>Machine memory for the shadows: 2048 frames, as trap-and-emulate's, twice what one address space can need.</summary>
    private const uint ShadowBytes = 8u << 20;

    private const uint Cr0Pe = 1, Cr0Ne = 0x20, Cr0Wp = 0x1_0000, Cr0Pg = 0x8000_0000, Cr4Pse = 0x10;

    private VmmMemory? _vmm;
    private Launched? _launched;

    private ShadowPageTables Shadows => State.Shadows;

    private Launched State => _launched ?? throw new InvalidOperationException("shadow paging is used before the guest was launched");

    /// <inheritdoc />
    public uint VmmBytes(uint guestRamBytes) => ShadowBytes;

    /// <inheritdoc />
    public void Allocate(VmmMemory vmm) => _vmm = vmm;

    /// <inheritdoc />
    public void Configure(VmxSetup setup)
    {
        setup.Processor |= ProcessorBasedControls.Cr3LoadExiting | ProcessorBasedControls.Cr3StoreExiting | ProcessorBasedControls.InvlpgExiting;
        setup.Secondary &= ~SecondaryControls.EnableVpid;
        setup.ExceptionBitmap |= 1u << Vectors.PF;   // with the error-code mask and match at 0: every page fault
        setup.Cr0Owned |= Cr0Wp;
        setup.Cr4Owned |= Cr4Pse;
    }

    /// <inheritdoc />
    public void Launch(Vcpu vcpu, uint guestCr0, uint guestCr3, uint guestCr4)
    {
        var vmm = _vmm ?? throw new InvalidOperationException("shadow paging is launched before its memory was allocated");
        var guest = new VirtualCpu(new GuestAddressSpace(vmm.Memory) { HypervisorRegionReserved = false });
        guest.SetCr0(guestCr0);
        guest.SetCr3(guestCr3);
        guest.SetCr4(guestCr4);
        var shadows = new ShadowPageTables(vcpu.Cpu, guest.Memory, vmm) { LoadRoot = root => vcpu.Vmcs.Write(VmcsField.GuestCr3, root) };
        var emulator = new InstructionEmulator(vcpu.Cpu, guest, vcpu.Devices, host: null);
        var writes = new ShadowWriteEmulation(vcpu.Cpu, shadows, new GuestInstructionDecoder(guest.Memory), emulator);
        _launched = new Launched(guest, shadows, writes);
        shadows.Activate();
    }

    /// <inheritdoc />
    public uint RealCr0(uint guestCr0) => guestCr0 | Cr0Pe | Cr0Pg | Cr0Ne | Cr0Wp;

    /// <inheritdoc />
    public bool TryHandleExit(Vcpu vcpu, VmExitReason reason)
    {
        switch (reason)
        {
            case VmExitReason.ControlRegisterAccess:
                var q = CrAccessQualification.Decode(vcpu.Cache.ExitQualification);
                if (q.ControlRegister != 3) return false;
                if (q.Access == CrAccessType.MovToCr) LoadCr3(vcpu, vcpu.Cpu[q.Register]);
                else StoreCr3(vcpu, q.Register);
                return true;
            case VmExitReason.Invlpg:
                Shadows.InvalidatePage(vcpu.Cache.ExitQualification);
                Complete(vcpu, Mnemonic.Invlpg);
                return true;
            case VmExitReason.Exception:
                return TryPageFault(vcpu);
            default:
                return false;
        }
    }

    /// <inheritdoc />
    public void PagingControlsChanged(Vcpu vcpu, uint guestCr0, uint guestCr4)
    {
        if ((guestCr0 & Cr0Pe) == 0)
        {
            vcpu.Stop($"the guest turned protected mode off at EIP 0x{vcpu.Cache.Rip:x8}: first-generation VT-x cannot run real mode (no unrestricted guest) and this VMM does not emulate it");
            return;
        }
        State.Guest.SetCr0(guestCr0);
        State.Guest.SetCr4(guestCr4);
        Shadows.Reset();
    }

    // ---- Exits ----

    /// <summary>mov to CR3: the guest's new address space, on its cached shadow or a new one (written to the guest CR3).</summary>
    private void LoadCr3(Vcpu v, uint value)
    {
        State.Guest.SetCr3(value);
        Shadows.LoadCr3();
        Complete(v, Mnemonic.Mov);
    }

    /// <summary>mov from CR3: the guest's own CR3, not the shadow root the CPU holds.</summary>
    private void StoreCr3(Vcpu v, Reg register)
    {
        v.Cpu[register] = State.Guest.Cr3;
        Complete(v, Mnemonic.Mov);
    }

    private static void Complete(Vcpu v, Mnemonic mnemonic)
    {
        v.Emulated(mnemonic);
        v.SkipInstruction();
    }

    /// <summary>A page fault on the shadows: hidden (filled), the guest's own (injected), or a write to emulate.</summary>
    private bool TryPageFault(Vcpu v)
    {
        var info = InterruptionInfo.Decode(v.Vmcs.Read(VmcsField.ExitInterruptionInfo));
        if (info.Vector != Vectors.PF) return false;
        uint error = v.Vmcs.Read(VmcsField.ExitInterruptionErrorCode);
        uint linear = v.Cache.ExitQualification;
        var fault = Shadows.HandlePageFault(linear, error);
        switch (fault.Kind)
        {
            case ShadowFaultKind.Hidden:
                break; // the faulting instruction (or the interrupted delivery) runs again on the filled shadow
            case ShadowFaultKind.Guest:
                Inject(v, new GuestFault(Vectors.PF, fault.ErrorCode, linear));
                break;
            case ShadowFaultKind.TracedWrite or ShadowFaultKind.WriteNeedsEmulation:
                EmulateWrite(v, fault);
                break;
            default:
                v.Stop($"unexpected shadow page fault ({fault.Kind}) at 0x{linear:x8}, EIP 0x{v.Cache.Rip:x8}");
                break;
        }
        return true;
    }

    /// <summary>
    /// A write the shadows do not let through, emulated at RIP (see <see cref="ShadowWriteEmulation"/>). When the
    /// CPU itself wrote (an event's frame or the IDT during delivery), there is no instruction to emulate: the page
    /// stops being shadowed and the delivery runs again.
    /// </summary>
    private void EmulateWrite(Vcpu v, in ShadowFault fault)
    {
        if (v.Events.DeliveryInterrupted)
        {
            if (fault.Kind != ShadowFaultKind.TracedWrite || !Shadows.Unshadow(fault.Physical))
                v.Stop($"the CPU's own write to guest-physical 0x{fault.Physical:x8} during an event's delivery cannot be emulated (EIP 0x{v.Cache.Rip:x8})");
            return;
        }
        uint eip = v.Cache.Rip;
        uint linear = v.Vmcs.Read(VmcsField.GuestCsBase) + eip;
        int cpl = (int)(v.Vmcs.Read(VmcsField.GuestSsAccessRights) >> 5) & 3;
        _ = v.Cache.Rflags; // the emulation starts from the guest's RFLAGS and writes them back (KVM's emulation context)
        var result = State.Writes.Resolve(fault, linear, eip, cpl);
        switch (result.Status)
        {
            case EmulationStatus.Completed:
                v.Cache.Rflags = v.Cpu.Eflags;
                v.CompleteAt(result.NextEip);
                break;
            case EmulationStatus.Faulted:
                Inject(v, result.Fault);
                break;
        }
    }

    /// <summary>Queues the guest's exception for the next entry (with CR2 for a page fault, as KVM loads it before entering).</summary>
    private static void Inject(Vcpu v, GuestFault fault)
    {
        if (fault.Vector == Vectors.PF) v.Cpu.Cr2 = fault.Address;
        v.Events.QueueException(fault.Vector, fault.ErrorCode);
    }

    /// <summary>What exists once the guest is launched: its paging state, the shadows, the write emulation.</summary>
    private sealed record Launched(VirtualCpu Guest, ShadowPageTables Shadows, ShadowWriteEmulation Writes);
}
