using System.Text;

namespace VirtBench.Machine.Devices;

/// <summary>
/// A 16550 UART (COM1): transmit, line status and the registers a driver programs. There is no input,
/// so RBR reads zero and "data ready" is never set. Output is kept as text (Latin-1), up to a cap so that a
/// runaway guest cannot exhaust host memory.
/// </summary>
public sealed class Uart16550 : IIoDevice
{
    /// <summary>Output beyond this many characters is dropped (and <see cref="Truncated"/> set).</summary>
    public const int MaxOutput = 4 << 20;

    private readonly ushort _base;
    private readonly StringBuilder _output = new();
    private byte _ier, _lcr, _mcr, _scr, _dll, _dlm;

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
            0 => dlab ? _dll : 0u,        // RBR: no input
            1 => dlab ? _dlm : _ier,
            2 => 0xC1,                    // IIR: no interrupt pending, FIFOs enabled
            3 => _lcr,
            4 => _mcr,
            5 => 0x60,                    // LSR: THR empty, transmitter empty
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

    private void Transmit(byte b)
    {
        Transmitted++;
        if (_output.Length >= MaxOutput) { Truncated = true; return; }
        _output.Append((char)b);
    }
}
