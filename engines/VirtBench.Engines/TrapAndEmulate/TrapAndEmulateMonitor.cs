using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.TrapAndEmulate;

/// <summary>
/// The classical VMM. The guest kernel runs at ring 1 with IOPL 0 on the VMM's GDT/IDT/TSS and shadow page tables,
/// from its first instruction (multiboot's paging-off state runs on a physical-mode shadow). Everything the guest
/// cannot be allowed to do reaches <see cref="OnException"/> or <see cref="OnExternalInterrupt"/>, a switch over
/// causes: a #GP from a privileged (or, on the Popek-Goldberg CPU, sensitive) instruction is decoded and emulated;
/// a #PF is a hidden fault, a write to a traced page, or the guest's own; system calls, other exceptions and
/// interrupts are reflected through the guest's IDT. On real x86 (<see cref="SensitiveMode.Observe"/>) sensitive
/// instructions run without trapping; the <see cref="HoleDetector"/> records what the guest saw instead.
/// </summary>
internal sealed class TrapAndEmulateMonitor : IMonitor
{
    private readonly Cpu _cpu;
    private readonly Counters _counters;
    private readonly DeprivilegedVmm _vmm;
    private readonly VirtualCpu _v;
    private readonly VirtualInterrupts _interrupts;
    private readonly bool _sensitiveTraps;
    private int _lastGuestCpl;

    /// <summary>Takes over the machine as the multiboot loader left it; <paramref name="mode"/> picks real x86 or the Popek-Goldberg CPU.</summary>
    public TrapAndEmulateMonitor(Pc pc, SensitiveMode mode)
    {
        _cpu = pc.Cpu;
        _counters = pc.Counters;
        _vmm = new DeprivilegedVmm(pc);
        _v = _vmm.Virtual;
        _interrupts = _vmm.Interrupts;
        _sensitiveTraps = mode == SensitiveMode.Trap;
        if (mode == SensitiveMode.Observe)
            Detector = new HoleDetector(_cpu, _v, _vmm.Emulator, _interrupts, new HoleRecorder(pc.Image.Symbols, _counters));
        _vmm.Boot(this, mode);
        _lastGuestCpl = GuestCpl;
    }

    /// <summary>The virtualization-hole detector on real x86, else null.</summary>
    public HoleDetector? Detector { get; }

    private int GuestCpl => _vmm.GuestCpl;

    // ---- The VMM's entry points ----

    /// <inheritdoc />
    public Disposition OnException(Cpu cpu, in GuestException exception)
    {
        try
        {
            Dispatch(exception);
        }
        catch (Exception error) when (error is InvalidOperationException or ArgumentException)
        {
            // A defect of this VMM, not of the guest: stop cleanly and say so rather than take the host down.
            cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"VMM error handling {Vectors.Name(exception.Vector)} at EIP 0x{exception.InstructionEip:x8}: {error.Message}"));
        }
        return Disposition.Handled;
    }

    private void Dispatch(in GuestException e)
    {
        int cpl = EnterVmm(e.Kind == ExceptionKind.Fault ? _cpu.Segment(SegReg.Cs).Base + e.InstructionEip : null);
        if (cpl == 3 && e.Kind == ExceptionKind.Fault && _interrupts.TryDeliverHeld(cpl))
        {
            // A held interrupt the guest accepts in user mode (it got there by an iret that did not trap): taken at
            // the boundary of the faulting instruction, which has not run and will fault again.
            LeaveVmm();
            return;
        }
        var outcome = e switch
        {
            { Kind: ExceptionKind.SoftwareInterrupt } => SoftwareInterrupt(e, cpl),
            { Vector: Vectors.PF, Kind: ExceptionKind.Fault } => _vmm.PageFault(e.FaultAddress, e.ErrorCode ?? 0, e.InstructionEip, cpl),
            { Vector: Vectors.GP, Kind: ExceptionKind.Fault } => _vmm.GeneralProtection(e.ErrorCode ?? 0, e.InstructionEip, cpl, _sensitiveTraps),
            _ => OtherException(e, cpl),
        };
        if (outcome.Kind == VmmOutcomeKind.Continue) _cpu.Eip = outcome.NextEip;
        LeaveVmm();
    }

    private VmmOutcome SoftwareInterrupt(in GuestException e, int cpl)
    {
        _counters.Add(Event.TrapSoftwareInterrupt);
        _vmm.Reflection.Reflect(e.Vector, e.Kind, null, e.InstructionEip, e.NextEip, cpl);
        return VmmOutcome.Reflected;
    }

    private VmmOutcome OtherException(in GuestException e, int cpl)
    {
        _counters.Add(Event.TrapException);
        _vmm.Reflection.Reflect(e.Vector, e.Kind, e.ErrorCode, e.InstructionEip, e.Kind == ExceptionKind.Trap ? e.NextEip : e.InstructionEip, cpl);
        return VmmOutcome.Reflected;
    }

    /// <inheritdoc />
    public void OnExternalInterrupt(Cpu cpu)
    {
        int cpl = EnterVmm(null);
        _interrupts.Arrived(cpl);
        LeaveVmm();
    }

    /// <inheritdoc />
    public void OnVmExit(Cpu cpu, in VmExit exit) =>
        cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"trap-and-emulate runs no VMX guest, yet a VM exit ({exit.Reason}) arrived"));

    /// <inheritdoc />
    public void OnSensitiveInstruction(Cpu cpu, in SensitiveInstruction instruction) => Detector?.Observe(instruction, GuestInterruptFlag);

    /// <summary>The guest's IF as the VMM will take it at its next entry (see <see cref="EnterVmm"/>).</summary>
    private bool GuestInterruptFlag => GuestCpl == 3 && _lastGuestCpl != 3 ? _cpu.InterruptsEnabled : _v.InterruptFlag;

    /// <summary>
    /// Entering the VMM (by a fault of the instruction at <paramref name="faultingInstruction"/>, or else): the guest's
    /// privilege level. A guest found in user mode that the VMM last left in its kernel got there by an iret that did
    /// not trap (real x86): its interrupt flag is what the real one is there.
    /// </summary>
    private int EnterVmm(uint? faultingInstruction)
    {
        Detector?.Entered(faultingInstruction);
        int cpl = GuestCpl;
        if (cpl == 3 && _lastGuestCpl != 3) _v.InterruptFlag = _cpu.InterruptsEnabled;
        return cpl;
    }

    private void LeaveVmm()
    {
        _lastGuestCpl = GuestCpl;
        _interrupts.Update();
        _vmm.CheckProgress();
    }
}
