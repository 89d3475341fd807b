using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu;

// Raising exceptions (inside instructions) and delivering them (between instructions), with the
// double-fault rules, the monitor seam and VMX exception exits.
public sealed partial class Cpu
{
    private struct PendingFault
    {
        public int Vector;
        public uint? Error;
        public uint Address;
    }

    private PendingFault _pending;
    private bool _hasPending;
    private bool _nestedFaultPending;

    /// <summary>Set when the current instruction stopped without retiring (a fault, or a stale decoded block).</summary>
    internal bool Aborted;

    /// <summary>Raises a fault for the current instruction; always returns false so handlers can "return Fault(...)".</summary>
    internal bool Fault(int vector, uint? error = null, uint address = 0)
    {
        if (!_hasPending)
        {
            _pending = new PendingFault { Vector = vector, Error = error, Address = address };
            _hasPending = true;
        }
        Aborted = true;
        return false;
    }

    internal bool GeneralProtection(uint error) => Fault(Vectors.GP, error);
    internal bool StackFault(uint error) => Fault(Vectors.SS, error);
    internal bool NotPresent(uint error) => Fault(Vectors.NP, error);
    internal bool InvalidTss(uint error) => Fault(Vectors.TS, error);
    internal bool InvalidOpcode() => Fault(Vectors.UD);
    internal bool DivideError() => Fault(Vectors.DE);
    internal bool PageFault(uint lin, uint error) => Fault(Vectors.PF, error, lin);

    private bool NestedPagingFault(uint lin)
    {
        _nestedFaultPending = true;
        _pending = new PendingFault { Vector = -1, Address = lin };
        _hasPending = true;
        Aborted = true;
        return false;
    }

    /// <summary>Delivers the fault raised by the instruction at EIP (called by the run loop).</summary>
    private void DeliverPendingFault(uint faultingEip)
    {
        var p = _pending;
        _hasPending = false;
        Aborted = false; // a fault raised while fetching (outside a block) must not abort the next instruction
        Eip = faultingEip;
        if (_nestedFaultPending)
        {
            _nestedFaultPending = false;
            ExitToMonitor(EptViolationExit(p.Address));
            return;
        }
        Raise(p.Vector, ExceptionKind.Fault, p.Error, p.Address, faultingEip, faultingEip);
    }

    /// <summary>A software interrupt or trap instruction (int n, int3, into). False if its delivery faulted.</summary>
    internal bool SoftwareInterrupt(int vector, ExceptionKind kind, uint instructionEip, uint nextEip) =>
        Raise(vector, kind, null, 0, instructionEip, nextEip);

    /// <summary>
    /// Raises an exception or interrupt and delivers it: through the monitor (if attached), a VMX exit (if the
    /// exception bitmap says so), or the IDT. <paramref name="returnEip"/> is the EIP the frame saves.
    /// Returns false if delivery itself faulted (the resulting exception has then been delivered).
    /// </summary>
    internal bool Raise(int vector, ExceptionKind kind, uint? error, uint address, uint instructionEip, uint returnEip)
    {
        bool exitable = kind is ExceptionKind.Fault or ExceptionKind.Trap; // int n never consults the exception bitmap
        if (exitable && Vmx is { } vmx && vmx.ExceptionExits(vector, error))
        {
            Eip = instructionEip; // an exiting #PF leaves CR2 alone: its address is the exit qualification
            ExitToMonitor(ExceptionExit(vector, kind, error, address, (int)(returnEip - instructionEip)));
            return true;
        }
        if (vector == Vectors.PF) Cr2 = address;
        if (Monitor is not null && Vmx is null && !DirectVectors[vector])
        {
            Eip = instructionEip;
            var e = new GuestException(vector, kind, error, address, instructionEip, returnEip);
            if (Monitor.OnException(this, in e) == Disposition.Handled) return true;
        }
        return Inject(vector, kind, error, instructionEip, returnEip);
    }

    /// <summary>
    /// Delivers an event through the IDT as hardware does, applying the double-fault rules when delivery
    /// itself faults (the second exception is reported at <paramref name="instructionEip"/>). Software VMMs use
    /// this to deliver natively; a VMX guest's events are injected through the VMCS on VM entry, which calls it.
    /// Returns false if delivery of this event faulted.
    /// </summary>
    public bool Inject(int vector, ExceptionKind kind, uint? error, uint instructionEip, uint returnEip)
    {
        int current = vector;
        uint? currentError = error;
        var currentKind = kind;
        uint currentReturn = returnEip;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            Counts[(int)(currentKind switch
            {
                ExceptionKind.External => Event.InterruptDelivered,
                ExceptionKind.SoftwareInterrupt => Event.SoftwareInterruptDelivered,
                _ => Event.ExceptionDelivered,
            })]++;
            if (DeliverThroughIdt(current, currentKind, currentError, currentReturn)) return attempt == 0;

            // Delivery faulted.
            var second = _pending;
            _hasPending = false;
            Aborted = false;
            Eip = instructionEip;
            if (Vmx is { } vmx)
            {
                // In VMX non-root mode an EPT violation, or an exception the bitmap makes exit, ends delivery in a VM
                // exit that reports the interrupted event as IDT-vectoring information; no double fault arises (SDM 27.2.4).
                int length = (int)(currentReturn - instructionEip);
                if (_nestedFaultPending)
                {
                    _nestedFaultPending = false;
                    ExitToMonitor(DuringDelivery(EptViolationExit(second.Address), current, currentKind, currentError, length));
                    return false;
                }
                if (vmx.ExceptionExits(second.Vector, second.Error))
                {
                    ExitToMonitor(DuringDelivery(ExceptionExit(second.Vector, ExceptionKind.Fault, second.Error, second.Address, 0),
                        current, currentKind, currentError, length));
                    return false;
                }
            }
            if (second.Vector == Vectors.PF) Cr2 = second.Address;
            if (current == Vectors.DF) { TripleFault($"{Vectors.Name(second.Vector)} while delivering a double fault"); return false; }
            if (MakesDoubleFault(current, currentKind, second.Vector))
            {
                current = Vectors.DF; currentError = 0;
            }
            else
            {
                // Benign combination: the second exception is delivered instead.
                current = second.Vector; currentError = second.Error;
            }
            currentKind = ExceptionKind.Fault;
            currentReturn = instructionEip;
            if (Vmx is { } v && v.ExceptionExits(current, currentError))
            {
                ExitToMonitor(ExceptionExit(current, currentKind, currentError, second.Address, 0));
                return false;
            }
            if (Monitor is not null && Vmx is null)
            {
                var e = new GuestException(current, currentKind, currentError, second.Address, instructionEip, instructionEip);
                if (Monitor.OnException(this, in e) == Disposition.Handled) return false;
            }
        }
        TripleFault("exceptions kept faulting during delivery");
        return false;
    }

    /// <summary>
    /// Applies the sensitive-instruction policy (see <see cref="SensitiveMode"/>) to the op about to run.
    /// False if it trapped (#GP(0) pending).
    /// </summary>
    internal bool Sensitive(ref Op op)
    {
        if (Cpl == 0 || SensitiveInstructions == SensitiveMode.Execute || InTranslationCache) return true;
        if (SensitiveInstructions == SensitiveMode.Trap) return GeneralProtection(0);
        Monitor?.OnSensitiveInstruction(this, new SensitiveInstruction(op.Eip, InstructionOf(ref op)));
        return true;
    }

    private static bool IsContributory(int v) => v is Vectors.DE or Vectors.TS or Vectors.NP or Vectors.SS or Vectors.GP;

    /// <summary>
    /// The x86 double-fault rule: true when <paramref name="second"/>, raised while delivering
    /// <paramref name="first"/>, turns into #DF (contributory after contributory, or contributory/#PF after #PF);
    /// otherwise the second exception is delivered instead. VMMs that deliver into a guest apply the same rule.
    /// </summary>
    internal static bool MakesDoubleFault(int first, ExceptionKind firstKind, int second)
    {
        bool firstContributory = IsContributory(first) && firstKind is ExceptionKind.Fault or ExceptionKind.Trap;
        bool firstPageFault = first == Vectors.PF && firstKind == ExceptionKind.Fault;
        bool secondSerious = IsContributory(second) || second == Vectors.PF;
        return (firstContributory && IsContributory(second)) || (firstPageFault && secondSerious);
    }

    /// <summary>Stops the machine as a triple fault (shutdown) does; the run ends with a clear message.</summary>
    internal void TripleFault(string why)
    {
        if (Vmx is not null)
        {
            ExitToMonitor(new VmExit { Reason = VmExitReason.TripleFault });
            return;
        }
        Stop(new RunOutcome(OutcomeKind.TripleFault, $"triple fault at EIP 0x{Eip:x8}: {why}"));
    }
}
