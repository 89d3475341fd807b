using VirtBench.Machine.Memory;
using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu;

// VMX non-root mode: VM exits (recorded in the VMCS, counted by reason, handed to the monitor) and VM entries
// (the entry checks, the nested tables and TLB, the interruptibility state, event injection through the guest's IDT).
public sealed partial class Cpu
{
    /// <summary>The VMCS of the guest the CPU runs in VMX non-root mode, or null on bare metal or under a software VMM.</summary>
    public Vmcs? Vmx { get; private set; }

    // Blocking by sti or mov SS at the instruction the current slice starts with (an exit there saves it in the VMCS).
    private GuestInterruptibility _sliceBlocking;

    /// <summary>
    /// Exits in a row that simulated time may pass without, before the run stops: exits take no simulated time,
    /// so a VMM that keeps resuming a guest which exits again at once would otherwise never reach the budget.
    /// </summary>
    internal const int MaxExitsWithoutProgress = 100_000;

    private ulong _lastExitTicks = ulong.MaxValue;
    private int _exitsWithoutProgress;

    /// <summary>
    /// VMLAUNCH: enters VMX non-root mode under <paramref name="vmcs"/> at the current guest state. Like every
    /// VM entry it is counted (<see cref="Event.VmEntry"/>), checks the guest state and the event to inject, and
    /// injects that event. False if the entry failed: the run is then stopped with the reason.
    /// </summary>
    public bool Launch(Vmcs vmcs)
    {
        Vmx = vmcs;
        return Enter(vmcs);
    }

    /// <summary>A VM exit: records it in the VMCS, counts it by reason, runs the VMM's handler, then enters the guest again.</summary>
    internal void ExitToMonitor(in VmExit exit)
    {
        var vmcs = Vmx;
        if (vmcs is null || Monitor is null)
        {
            Stop(new RunOutcome(OutcomeKind.EngineStop, $"VM exit {exit.Reason} with no {(vmcs is null ? "VMCS" : "monitor")} attached"));
            return;
        }
        if (Ticks != _lastExitTicks) (_lastExitTicks, _exitsWithoutProgress) = (Ticks, 0);
        else if (++_exitsWithoutProgress >= MaxExitsWithoutProgress)
        {
            Stop(new RunOutcome(OutcomeKind.EngineStop,
                $"{MaxExitsWithoutProgress:N0} VM exits in a row without the guest making progress, the last {exit.Reason} at EIP 0x{Eip:x8}"));
            return;
        }
        vmcs.RecordExit(exit, _sliceBlocking);
        Counts[(int)ExitEvent(exit)]++;
        Monitor.OnVmExit(this, in exit);
        if (_stop is null && Vmx is not null) Enter(Vmx);
    }

    /// <summary>The event that counts an exit (the reason, refined for #PF and CR3 loads).</summary>
    private static Event ExitEvent(in VmExit exit) => exit.Reason switch
    {
        VmExitReason.Exception => exit.Interruption.Vector == Vectors.PF ? Event.ExitPageFault : Event.ExitException,
        VmExitReason.ExternalInterrupt => Event.ExitExternalInterrupt,
        VmExitReason.InterruptWindow => Event.ExitInterruptWindow,
        VmExitReason.Cpuid => Event.ExitCpuid,
        VmExitReason.Hlt => Event.ExitHlt,
        VmExitReason.Invlpg => Event.ExitInvlpg,
        VmExitReason.Rdtsc => Event.ExitRdtsc,
        VmExitReason.Vmcall => Event.ExitVmcall,
        VmExitReason.ControlRegisterAccess => CrAccessQualification.Decode(exit.Qualification) is { ControlRegister: 3, Access: CrAccessType.MovToCr }
            ? Event.ExitCr3Load : Event.ExitCrAccess,
        VmExitReason.IoInstruction => Event.ExitIo,
        VmExitReason.Rdmsr or VmExitReason.Wrmsr => Event.ExitMsr,
        VmExitReason.EptViolation => Event.ExitEptViolation,
        _ => Event.ExitOther,
    };

    /// <summary>
    /// A VM entry (VMLAUNCH or VMRESUME): the checks, then the guest state the VMCS holds takes effect: the nested
    /// tables, a TLB flush when translations are not tagged with a VPID, the interruptibility state, and the
    /// injected event, delivered through the guest's IDT.
    /// </summary>
    private bool Enter(Vmcs vmcs)
    {
        Counts[(int)Event.VmEntry]++;
        if (vmcs.CheckEntry() is { } failure)
        {
            Stop(new RunOutcome(OutcomeKind.EngineStop, $"VM entry failed at EIP 0x{Eip:x8}: {failure}"));
            return false;
        }
        if (Mmu.NestedRoot != vmcs.NestedRoot) Mmu.SetNestedRoot(vmcs.NestedRoot);
        else if (!vmcs.VpidEnabled) Mmu.FlushAll();
        _interruptShadow = vmcs.Interruptibility;
        if (!vmcs.TakeInjection(out var e, out uint error, out int length)) return true;
        Counts[(int)Event.InterruptInjection]++;
        _interruptShadow = _sliceBlocking = GuestInterruptibility.None; // delivery starts a new instruction boundary
        Halted = false;
        uint eip = Eip;
        Inject(e.Vector, e.Kind, e.DeliversErrorCode ? error : null, eip, e.IsSoftware ? eip + (uint)length : eip);
        return true;
    }

    /// <summary>An exception-bitmap exit: the exception in the exit interruption information, #PF's address as qualification.</summary>
    private static VmExit ExceptionExit(int vector, ExceptionKind kind, uint? error, uint address, int instructionLength)
    {
        var info = InterruptionInfo.Of(vector, InterruptionInfo.TypeOf(vector, kind), error.HasValue);
        return new VmExit
        {
            Reason = VmExitReason.Exception, Interruption = info, InterruptionErrorCode = error ?? 0,
            Qualification = vector == Vectors.PF ? address : 0, InstructionLength = info.IsSoftware ? instructionLength : 0,
        };
    }

    /// <summary>An EPT-violation exit for the MMU's last nested fault, during an access to <paramref name="linear"/>.</summary>
    private VmExit EptViolationExit(uint linear)
    {
        var f = Mmu.LastNestedFault;
        var q = new EptViolationQualification(
            Read: f.PagingStructure || f.Access == MemoryAccess.Read,
            Write: !f.PagingStructure && f.Access == MemoryAccess.Write,
            Fetch: !f.PagingStructure && f.Access == MemoryAccess.Execute,
            Readable: f.Present, Writable: f.Writable, Executable: f.Present,
            LinearAddressValid: true, FinalTranslation: !f.PagingStructure);
        return new VmExit
        {
            Reason = VmExitReason.EptViolation, Qualification = q.Encode(),
            GuestPhysicalAddress = f.GuestPhysicalAddress, GuestLinearAddress = linear,
        };
    }

    /// <summary>The event being delivered, as the IDT-vectoring information of an exit that interrupts its delivery.</summary>
    private static VmExit DuringDelivery(VmExit exit, int vector, ExceptionKind kind, uint? error, int instructionLength)
    {
        var info = InterruptionInfo.Of(vector, InterruptionInfo.TypeOf(vector, kind), error.HasValue);
        return exit with
        {
            IdtVectoring = info, IdtVectoringErrorCode = error ?? 0,
            InstructionLength = info.IsSoftware ? instructionLength : exit.InstructionLength,
        };
    }
}
