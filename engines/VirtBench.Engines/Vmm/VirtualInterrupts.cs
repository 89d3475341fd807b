using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// External interrupts for a guest whose interrupt flag is virtual (<see cref="VirtualCpu.InterruptFlag"/>), while the
/// real IF stays set so that every interrupt reaches the VMM first (<see cref="Cpu.ExternalInterruptsToMonitor"/>).
/// An interrupt arriving while the guest has interrupts disabled is held, with the line masked at the CPU
/// (<see cref="Cpu.ExternalInterruptsMasked"/>), until the guest enables them (an emulated sti, popf or iret); then
/// it is acknowledged at the interrupt controller and reflected through the guest's IDT.
/// </summary>
public sealed class VirtualInterrupts(Pc pc, VirtualCpu vcpu, ExceptionReflection reflection)
{
    private readonly Cpu _cpu = pc.Cpu;

    /// <summary>True while an interrupt waits for the guest to enable interrupts.</summary>
    public bool Held { get; private set; }

    /// <summary>
    /// From <see cref="IMonitor.OnExternalInterrupt"/>, with the guest at privilege level <paramref name="guestCpl"/>:
    /// counts the trap (once per interrupt), then delivers it (true: the guest is at its handler) or holds it.
    /// </summary>
    public bool Arrived(int guestCpl)
    {
        if (!Held) pc.Counters.Add(Event.TrapExternalInterrupt);
        Held = true;
        if (TryDeliverHeld(guestCpl)) return true;
        _cpu.ExternalInterruptsMasked = true;
        return false;
    }

    /// <summary>
    /// Delivers a held interrupt now if the guest accepts it (e.g. it reached user mode without the VMM seeing it):
    /// for a VMM entered by a fault, whose instruction has not run and will fault again. True if delivered.
    /// </summary>
    public bool TryDeliverHeld(int guestCpl)
    {
        if (!Held || !vcpu.InterruptFlag || !pc.Pic.InterruptRequested) return false;
        Held = false;
        int vector = pc.Pic.Acknowledge();
        reflection.Reflect(vector, ExceptionKind.External, null, _cpu.Eip, _cpu.Eip, guestCpl);
        return true;
    }

    /// <summary>Call before the guest resumes: lets a held interrupt through once the guest accepts it.</summary>
    public void Update()
    {
        if (Held && !pc.Pic.InterruptRequested) Held = false;
        _cpu.ExternalInterruptsMasked = Held && !vcpu.InterruptFlag;
    }
}
