namespace VirtBench.Machine.Devices;

/// <summary>A device that answers port I/O.</summary>
public interface IIoDevice
{
    /// <summary>Reads <paramref name="size"/> bytes (1, 2, 4) from a port the device registered.</summary>
    uint Read(ushort port, int size);

    /// <summary>Writes <paramref name="size"/> bytes (1, 2, 4) to a port the device registered.</summary>
    void Write(ushort port, int size, uint value);
}

/// <summary>
/// The I/O port bus: devices register port ranges; unclaimed ports read as all ones and ignore writes,
/// as on a PC. Port I/O is a slow path (an I/O instruction ends its block), so devices are interfaces.
/// </summary>
public sealed class IoBus
{
    private readonly IIoDevice?[] _ports = new IIoDevice?[65536];

    /// <summary>Claims <paramref name="count"/> ports starting at <paramref name="first"/> for a device.</summary>
    public void Register(IIoDevice device, ushort first, int count)
    {
        for (int p = first; p < first + count; p++)
        {
            if (_ports[p] is { } other && other != device)
                throw new InvalidOperationException($"port 0x{p:x} is already claimed by {other.GetType().Name}");
            _ports[p] = device;
        }
    }

    /// <summary>The device at a port, or null.</summary>
    public IIoDevice? DeviceAt(ushort port) => _ports[port];

    /// <summary>Reads a port (all ones when unclaimed).</summary>
    public uint Read(ushort port, int size)
    {
        var d = _ports[port];
        if (d is not null) return d.Read(port, size);
        return size == 4 ? 0xFFFF_FFFF : size == 2 ? 0xFFFFu : 0xFFu;
    }

    /// <summary>Writes a port (dropped when unclaimed).</summary>
    public void Write(ushort port, int size, uint value) => _ports[port]?.Write(port, size, value);
}
