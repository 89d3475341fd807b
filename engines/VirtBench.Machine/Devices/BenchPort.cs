namespace VirtBench.Machine.Devices;

/// <summary>
/// The bench port: the guest marks the start and end of its measured region and declares the number of
/// operations in it (<see cref="Platform.BenchControlPort"/>, <see cref="Platform.BenchOpsPort"/>).
/// Counters are snapshotted at each mark; several regions accumulate. QEMU has no device there and ignores it.
/// </summary>
public sealed class BenchPort(Counters counters) : IIoDevice
{
    private Counters? _open;
    private Counters? _measured;

    /// <summary>Counts accumulated over every closed region, or null if none was closed.</summary>
    public Counters? Measured => _measured;

    /// <summary>Operations declared for the closed regions.</summary>
    public ulong Operations { get; private set; }

    /// <summary>True while a region is open.</summary>
    public bool IsOpen => _open is not null;

    private uint _pendingOps;

    /// <inheritdoc />
    public uint Read(ushort port, int size) => IsOpen ? 1u : 0u;

    /// <inheritdoc />
    public void Write(ushort port, int size, uint value)
    {
        if (port == Platform.BenchOpsPort) { _pendingOps = value; return; }
        if (port != Platform.BenchControlPort) return;
        if (value == Platform.BenchBegin && _open is null) _open = counters.Snapshot();
        else if (value == Platform.BenchEnd && _open is not null)
        {
            var region = Counters.Difference(counters, _open);
            _measured = _measured is null ? region : Counters.Sum(_measured, region);
            Operations += _pendingOps;
            _open = null;
        }
    }
}
