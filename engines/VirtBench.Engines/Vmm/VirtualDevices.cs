using VirtBench.Machine;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The VMM's emulation of the PC's devices (PIC, PIT, UART, debug exit, bench port): a guest port access
/// that a VMM intercepted (a #GP under IOPL, a VMX I/O exit) or that a paravirtual backend took from a shared
/// ring is served by the same device models the bare machine has, and counted (by default as
/// <see cref="Event.DeviceEmulation"/>). The count is made after the access, as a retired <c>out</c> is counted: a
/// bench-port write that opens the measured region counts inside it, one that closes it counts outside.
/// </summary>
public sealed class VirtualDevices(Pc pc)
{
    /// <summary>The machine whose devices these are.</summary>
    public Pc Machine { get; } = pc;

    /// <summary>An emulated port read, counted as <paramref name="counted"/>.</summary>
    public uint In(ushort port, int size, Event counted = Event.DeviceEmulation)
    {
        uint value = Machine.Bus.Read(port, size);
        Machine.Counters.Add(counted);
        return value;
    }

    /// <summary>An emulated port write, counted as <paramref name="counted"/>.</summary>
    public void Out(ushort port, int size, uint value, Event counted = Event.DeviceEmulation)
    {
        Machine.Bus.Write(port, size, value);
        Machine.Counters.Add(counted);
    }
}
