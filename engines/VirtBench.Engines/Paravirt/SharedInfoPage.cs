using VirtBench.Machine.Memory;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

/// <summary>
/// The shared-info page as the hypervisor reads and writes it: the virtual interrupt flag (the event mask), the
/// pending-event flag, the fault address of a bounced page fault, and the per-port pending and mask bits.
/// The guest reads and writes the same bytes with plain memory operations.
/// </summary>
internal sealed class SharedInfoPage(PhysicalMemory memory, uint address)
{
    /// <summary>Machine address of the page.</summary>
    public uint Address { get; } = address;

    /// <summary>Events are masked (the guest's virtual IF is clear).</summary>
    public bool Masked
    {
        get => memory.Read8(Address + SharedInfo.UpcallMask) != 0;
        set => memory.Write8(Address + SharedInfo.UpcallMask, value ? (byte)1 : (byte)0);
    }

    /// <summary>An event is pending for the guest's callback.</summary>
    public bool UpcallPending
    {
        get => memory.Read8(Address + SharedInfo.UpcallPending) != 0;
        set => memory.Write8(Address + SharedInfo.UpcallPending, value ? (byte)1 : (byte)0);
    }

    /// <summary>The faulting address of the last bounced page fault.</summary>
    public uint Cr2
    {
        set => memory.Write32(Address + SharedInfo.Cr2, value);
    }

    /// <summary>Marks a port pending; false if the guest masked the port (its bit is still set, as in Xen).</summary>
    public bool SetPending(int port)
    {
        uint bit = 1u << port;
        memory.Write32(Address + SharedInfo.EventPending, memory.Read32(Address + SharedInfo.EventPending) | bit);
        return (memory.Read32(Address + SharedInfo.EventMask) & bit) == 0;
    }

    /// <summary>Clears a port's mask bit; true if the port is pending.</summary>
    public bool Unmask(int port)
    {
        uint bit = 1u << port;
        memory.Write32(Address + SharedInfo.EventMask, memory.Read32(Address + SharedInfo.EventMask) & ~bit);
        return (memory.Read32(Address + SharedInfo.EventPending) & bit) != 0;
    }
}
