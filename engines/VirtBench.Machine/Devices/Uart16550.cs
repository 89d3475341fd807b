using System.Text;

namespace VirtBench.Machine.Devices;

/// <summary>
/// A 16550 UART (COM1): transmit, line status, the registers a driver programs, and loopback mode (MCR bit 4),
/// in which transmitted bytes come back through the receive FIFO instead of leaving the machine, as on the chip
/// and in QEMU. There is no external input. Output is kept as text (Latin-1), up to a cap so that a runaway
/// guest cannot exhaust host memory.
/// </summary>
public sealed class Uart16550 : IIoDevice
{
    /// <summary>Output beyond this many characters is dropped (and <see cref="Truncated"/> set).</summary>
    public const int MaxOutput = 4 << 20;

    private readonly ushort _base;
    private readonly StringBuilder _output = new();
    private const int FifoSize = 16;
    private readonly Queue<byte> _receive = new();
    private byte _ier, _lcr, _mcr, _scr, _dll, _dlm;
    private bool _overrun;

    private bool Loopback => (_mcr & 0x10) != 0;

    /// <summary>Creates a UART at <paramref name="basePort"/> (it occupies eight ports).</summary>
    public Uart16550(ushort basePort = Platform.Com1Port) => _base = basePort;

    /// <summary>The first of the UART's eight ports.</summary>
    public ushort BasePort => _base;

    /// <summary>Everything transmitted so far.</summary>
    public string Output => _output.ToString();

    /// <summary>True if output was dropped because it exceeded <see cref="MaxOutput"/>.</summary>
    public bool Truncated { get; private set; }

    /// <summary>Characters transmitted.</summary>
    public long Transmitted { get; private set; }

    /// <inheritdoc />
    public uint Read(ushort port, int size)
    {
        bool dlab = (_lcr & 0x80) != 0;
        return (port - _base) switch
        {
            0 => dlab ? _dll : Receive(),
            1 => dlab ? _dlm : _ier,
            2 => 0xC1,                    // IIR: no interrupt pending, FIFOs enabled
            3 => _lcr,
            4 => _mcr,
            5 => LineStatus(),
            6 => 0xB0,                    // MSR: CTS, DSR, DCD
            7 => _scr,
            _ => 0xFF,
        };
    }

    /// <inheritdoc />
    public void Write(ushort port, int size, uint value)
    {
        byte v = (byte)value;
        bool dlab = (_lcr & 0x80) != 0;
        switch (port - _base)
        {
            case 0 when dlab: _dll = v; break;
            case 0: Transmit(v); break;
            case 1 when dlab: _dlm = v; break;
            case 1: _ier = v; break;
            case 3: _lcr = v; break;
            case 4: _mcr = v; break;
            case 7: _scr = v; break;
        }
    }

    private uint Receive() => _receive.Count > 0 ? _receive.Dequeue() : 0u;

    private uint LineStatus()
    {
        // THR empty and transmitter empty always; data ready while the FIFO holds bytes; overrun once, then cleared.
        uint lsr = 0x60u | (_receive.Count > 0 ? 1u : 0u) | (_overrun ? 2u : 0u);
        _overrun = false;
        return lsr;
    }

    private void Transmit(byte b)
    {
        if (Loopback)
        {
            if (_receive.Count < FifoSize) _receive.Enqueue(b);
            else _overrun = true;
            return;
        }
        Emit(b);
    }

    /// <summary>
    /// Puts a byte on the line without going through the transmitter (loopback does not apply): what a
    /// hypervisor's console shares the serial line with its guest by.
    /// </summary>
    public void Emit(byte b)
    {
        Transmitted++;
        if (_output.Length >= MaxOutput) { Truncated = true; return; }
        _output.Append((char)b);
    }
}
