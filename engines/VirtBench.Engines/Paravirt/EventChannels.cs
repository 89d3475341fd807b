using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Devices;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

/// <summary>
/// Event channels: the PIC's lines are bound to ports (line n to <see cref="EventChannel.FirstIrqPort"/> + n).
/// A hardware interrupt enters the hypervisor, which acknowledges the PIC, marks the line's port pending in the
/// shared page and, unless the guest masked events (its virtual interrupt flag is clear), upcalls the guest's
/// event callback at once; otherwise the event waits for the guest to unmask and ask (or for a hypercall to end).
/// The guest acknowledges the device itself (its EOI goes through the device ring), as it would natively.
/// </summary>
internal sealed class EventChannels(SharedInfoPage shared, Pic8259 pic, Counters counters, GuestKernelEntry entry, Action<Cpu, string> crash)
{
    /// <summary>The event callback (set_callbacks or callback_op), entered with events masked.</summary>
    public GuestHandler? Callback { get; set; }

    /// <summary>A hardware interrupt reached the hypervisor.</summary>
    public void OnInterrupt(Cpu cpu)
    {
        counters.Add(Event.TrapExternalInterrupt);
        int vector = pic.Acknowledge();
        cpu.Halted = false;
        var (master, slave) = pic.VectorBases;
        int line = vector - master is >= 0 and < 8 ? vector - master : vector - slave is >= 0 and < 8 ? 8 + vector - slave : -1;
        if (line >= 0) Raise(EventChannel.FirstIrqPort + line);
        TryUpcall(cpu);
    }

    /// <summary>Marks a port pending (and the processor's upcall pending, unless the port is masked).</summary>
    public void Raise(int port)
    {
        if (shared.SetPending(port)) shared.UpcallPending = true;
    }

    /// <summary>event_channel_op(unmask): a pending port becomes an upcall again.</summary>
    public void Unmask(int port)
    {
        if (shared.Unmask(port)) shared.UpcallPending = true;
    }

    /// <summary>
    /// Upcalls the event callback if an event is pending and the guest's events are unmasked (after an interrupt,
    /// and at the end of every hypercall). The domain crashes if its kernel stack cannot take the frame.
    /// </summary>
    public void TryUpcall(Cpu cpu)
    {
        if (shared.Masked || !shared.UpcallPending || Callback is not { } callback) return;
        if (entry.Bounce(cpu, callback with { MaskEvents = true }, cpu.Eip, null)) counters.Add(Event.EventUpcall);
        else crash(cpu, "the event upcall frame could not be pushed on the guest kernel stack");
    }
}
