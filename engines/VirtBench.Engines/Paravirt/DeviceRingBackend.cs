using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Memory;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

/// <summary>
/// The backend of the paravirtual device ring: when the guest notifies the ring's event port, it takes every new
/// request from the shared page, serves it on the PC's device models (UART, PIC, PIT, bench port, debug exit:
/// the <see cref="VirtualDevices"/>), writes the response into the request's slot and publishes the response
/// producer. Each request is counted as <see cref="Event.RingRequest"/>.
/// </summary>
internal sealed class DeviceRingBackend(PhysicalMemory memory, VirtualDevices devices, uint ring)
{
    private uint _consumed;

    /// <summary>Serves the requests produced since the last notification; null, or why the ring is broken.</summary>
    public string? Serve()
    {
        uint produced = memory.Read32(ring + DeviceRing.RequestProducer);
        if (produced - _consumed > DeviceRing.SlotCount)
            return $"device ring overrun: {produced - _consumed} requests outstanding, the ring has {DeviceRing.SlotCount} slots";
        for (; _consumed != produced; _consumed++)
        {
            uint slot = ring + DeviceRing.Slots + (_consumed & (DeviceRing.SlotCount - 1)) * DeviceRing.SlotSize;
            Serve(slot);
        }
        memory.Write32(ring + DeviceRing.ResponseProducer, produced);
        return null;
    }

    private void Serve(uint slot)
    {
        byte op = memory.Read8(slot + DeviceRing.SlotOp);
        int size = memory.Read8(slot + DeviceRing.SlotAccessSize);
        ushort port = memory.Read16(slot + DeviceRing.SlotPort);
        if (op is not (DeviceRing.OpIn or DeviceRing.OpOut) || size is not (1 or 2 or 4))
        {
            memory.Write32(slot + DeviceRing.SlotStatus, unchecked((uint)-Error.EINVAL));
            return;
        }
        if (op == DeviceRing.OpIn) memory.Write32(slot + DeviceRing.SlotValue, devices.In(port, size, Event.RingRequest));
        else devices.Out(port, size, memory.Read32(slot + DeviceRing.SlotValue), Event.RingRequest);
        memory.Write32(slot + DeviceRing.SlotStatus, 0);
    }
}
