using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// The events a VMM injects into its guest on VM entry, as KVM's vmx_complete_interrupts and
/// inject_pending_event do: an event whose delivery an exit interrupted is injected again; an exception the VMM
/// raises goes in unconditionally; an external interrupt waits until the guest can take it (IF = 1, no sti or
/// mov-SS blocking), and until then the VMM asks for an interrupt-window exit. While an interrupt waits for the
/// guest, further requests of the interrupt controller are held back, as a CPU with IF = 0 holds them.
/// </summary>
internal sealed class EventInjection(Cpu cpu, Vmcs vmcs, VmcsCache cache)
{
    private const uint InterruptFlag = 0x200;

    private InterruptionInfo _event;
    private uint _eventErrorCode;
    private int _eventInstructionLength;
    private int? _interrupt;
    private bool _windowRequested;
    private uint _processorControls;

    /// <summary>Set at launch: the primary processor-based controls, which the interrupt-window bit is part of.</summary>
    public void Launched(uint processorControls) => _processorControls = processorControls;

    /// <summary>True while an acknowledged external interrupt waits for the guest.</summary>
    public bool InterruptPending => _interrupt is not null;

    /// <summary>True if the current exit interrupted the delivery of an event (queued again by <see cref="CompleteInterrupted"/>).</summary>
    public bool DeliveryInterrupted { get; private set; }

    /// <summary>
    /// After every exit: if the exit interrupted the delivery of an event through the guest's IDT (an EPT
    /// violation on the kernel stack during a system call, say), queue that event again.
    /// </summary>
    public void CompleteInterrupted()
    {
        var vectoring = InterruptionInfo.Decode(vmcs.Read(VmcsField.IdtVectoringInfo));
        DeliveryInterrupted = vectoring.Valid;
        if (!vectoring.Valid) return;
        uint error = vectoring.DeliversErrorCode ? vmcs.Read(VmcsField.IdtVectoringErrorCode) : 0;
        int length = vectoring.IsSoftware ? (int)vmcs.Read(VmcsField.ExitInstructionLength) : 0;
        Queue(vectoring, error, length);
    }

    /// <summary>Queues an exception for the guest (e.g. #GP for an MSR it may not access).</summary>
    public void QueueException(int vector, uint? errorCode = null) =>
        Queue(InterruptionInfo.Of(vector, InterruptionType.HardwareException, errorCode.HasValue), errorCode ?? 0, 0);

    /// <summary>
    /// Queues an event exactly as the VMCS describes it (an intercepted exception reflected to the guest). An
    /// exception raised while another one's delivery was interrupted combines with it as on the CPU (KVM's
    /// kvm_multiple_exception): into a double fault (a page fault or contributory exception during a page fault's
    /// delivery, a contributory one during a contributory one's), into a triple fault during a double fault's
    /// delivery (the run stops), or else replaces it.
    /// </summary>
    public void Queue(InterruptionInfo info, uint errorCode, int instructionLength)
    {
        if (_event is { Valid: true, Type: InterruptionType.HardwareException } first && info.Type == InterruptionType.HardwareException)
        {
            if (first.Vector == Vectors.DF)
            {
                cpu.Stop(new RunOutcome(OutcomeKind.TripleFault,
                    $"triple fault at EIP 0x{cache.Rip:x8}: {Vectors.Name(info.Vector)} while delivering a double fault"));
                return;
            }
            if (Cpu.MakesDoubleFault(first.Vector, first.Kind, info.Vector))
                (info, errorCode) = (InterruptionInfo.Of(Vectors.DF, InterruptionType.HardwareException, deliversErrorCode: true), 0);
        }
        _event = info;
        _eventErrorCode = errorCode;
        _eventInstructionLength = instructionLength;
    }

    /// <summary>An external interrupt the VMM acknowledged at the interrupt controller, for the guest.</summary>
    public void QueueInterrupt(int vector)
    {
        _interrupt = vector;
        cpu.ExternalInterruptsMasked = true;
    }

    /// <summary>Before every VM entry: writes the event to inject, or asks for the interrupt window.</summary>
    public void BeforeEntry()
    {
        if (_event.Valid)
        {
            Inject(_event, _eventErrorCode, _eventInstructionLength);
            _event = InterruptionInfo.None;
            RequestWindow(_interrupt is not null);
            return;
        }
        if (_interrupt is int vector && GuestCanTakeInterrupt())
        {
            Inject(InterruptionInfo.Of(vector, InterruptionType.ExternalInterrupt), 0, 0);
            _interrupt = null;
            cpu.ExternalInterruptsMasked = false;
        }
        RequestWindow(_interrupt is not null);
    }

    /// <summary>IF = 1 and no blocking by sti or mov SS (KVM's vmx_interrupt_allowed).</summary>
    private bool GuestCanTakeInterrupt() =>
        (cache.Rflags & InterruptFlag) != 0 && vmcs.Read(VmcsField.GuestInterruptibility) == (uint)GuestInterruptibility.None;

    private void Inject(InterruptionInfo info, uint errorCode, int instructionLength)
    {
        vmcs.Write(VmcsField.EntryInterruptionInfo, info.Encode());
        if (info.DeliversErrorCode) vmcs.Write(VmcsField.EntryExceptionErrorCode, errorCode);
        if (info.IsSoftware) vmcs.Write(VmcsField.EntryInstructionLength, (uint)instructionLength);
    }

    /// <summary>Sets or clears interrupt-window exiting, writing the controls only when they change (as KVM shadows them).</summary>
    private void RequestWindow(bool on)
    {
        if (on == _windowRequested) return;
        _windowRequested = on;
        uint bit = (uint)ProcessorBasedControls.InterruptWindowExiting;
        _processorControls = on ? _processorControls | bit : _processorControls & ~bit;
        vmcs.Write(VmcsField.ProcessorBasedControls, _processorControls);
    }
}
