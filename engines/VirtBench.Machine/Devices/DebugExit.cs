namespace VirtBench.Machine.Devices;

/// <summary>
/// QEMU's isa-debug-exit (iobase 0xf4, iosize 4): a write of v ends the run with exit status v*2+1,
/// exactly as <c>-device isa-debug-exit</c> makes QEMU exit.
/// </summary>
public sealed class DebugExit(Action<RunOutcome> stop) : IIoDevice
{
    /// <inheritdoc />
    public uint Read(ushort port, int size) => size == 4 ? 0xFFFF_FFFF : size == 2 ? 0xFFFFu : 0xFFu;

    /// <inheritdoc />
    public void Write(ushort port, int size, uint value)
    {
        int status = (int)((value << 1) | 1);
        stop(new RunOutcome(OutcomeKind.DebugExit, $"guest wrote {value} to isa-debug-exit", status));
    }
}
