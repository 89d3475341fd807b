using VirtBench.Machine;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The VMM's emulation of the PC's devices (PIC, PIT, UART, debug exit, bench port): a guest port access
/// that a VMM intercepted (a #GP under IOPL, a VMX I/O exit) is served by the same device models the bare
/// machine has, and counted as <see cref="Event.DeviceEmulation"/>.
/// </summary>
public sealed class VirtualDevices(Pc pc)
{
    /// <summary>The machine whose devices these are.</summary>
    public Pc Machine { get; } = pc;

    /// <summary>An emulated port read.</summary>
    public uint In(ushort port, int size)
    {
        Machine.Counters.Add(Event.DeviceEmulation);
        return Machine.Bus.Read(port, size);
    }

    /// <summary>An emulated port write.</summary>
    public void Out(ushort port, int size, uint value)
    {
        Machine.Counters.Add(Event.DeviceEmulation);
        Machine.Bus.Write(port, size, value);
    }
}
