namespace VirtBench.Machine.Devices;

/// <summary>
/// The 8254 programmable interval timer, channel 0 (IRQ 0), driven by simulated time: one PIT input tick per
/// <see cref="Platform.InstructionsPerPitTick"/> retired instructions. Modes 0 (interrupt on terminal count),
/// 2 (rate generator) and 3 (square wave) raise IRQ 0 at exact, deterministic instruction counts; the CPU
/// cuts its blocks at <see cref="NextDeadline"/>. Channels 1 and 2 accept programming but raise nothing.
/// </summary>
public sealed class Pit8254 : IIoDevice
{
    private readonly Pic8259 _pic;
    private readonly Func<ulong> _now;
    private int _mode, _access, _reload = 0x10000;
    private bool _writeHigh, _readHigh, _latched, _armed;
    private ushort _latch;
    private ulong _start;  // PIT tick at which the current count was loaded

    /// <summary>A PIT whose channel 0 raises IRQ 0 on <paramref name="pic"/>; <paramref name="now"/> gives simulated time.</summary>
    public Pit8254(Pic8259 pic, Func<ulong> now)
    {
        _pic = pic;
        _now = now;
    }

    /// <summary>Simulated time (CPU ticks) of the next IRQ 0, or ulong.MaxValue when the timer is idle.</summary>
    public ulong NextDeadline { get; private set; } = ulong.MaxValue;

    /// <summary>IRQ 0 edges raised.</summary>
    public long Interrupts { get; private set; }

    /// <summary>The reload value of channel 0 (65536 for a count of 0).</summary>
    public int Reload => _reload;

    private static ulong PitNow(ulong ticks) => ticks / (ulong)Platform.InstructionsPerPitTick;

    /// <summary>Called when simulated time reaches <see cref="NextDeadline"/>: raises IRQ 0 and schedules the next.</summary>
    public void Fire(ulong ticks)
    {
        if (!_armed || ticks < NextDeadline) return;
        Interrupts++;
        _pic.RaiseIrq(0);
        if (_mode is 2 or 3)
        {
            // Periodic: the next period boundary after now (periods missed while idle coalesce, as edges do).
            ulong elapsed = PitNow(ticks) - _start;
            ulong periods = elapsed / (ulong)_reload + 1;
            NextDeadline = (_start + periods * (ulong)_reload) * (ulong)Platform.InstructionsPerPitTick;
            if (NextDeadline <= ticks) NextDeadline = ticks + 1;
        }
        else
        {
            _armed = false;
            NextDeadline = ulong.MaxValue;
        }
    }

    /// <inheritdoc />
    public uint Read(ushort port, int size)
    {
        if (port != Platform.PitChannel0Port) return 0;
        ushort value = _latched ? _latch : CurrentCount();
        byte b = (_access, _readHigh) switch
        {
            (1, _) => (byte)value,
            (2, _) => (byte)(value >> 8),
            (_, false) => (byte)value,
            (_, true) => (byte)(value >> 8),
        };
        if (_access == 3)
        {
            _readHigh = !_readHigh;
            if (!_readHigh) _latched = false;
        }
        else _latched = false;
        return b;
    }

    /// <inheritdoc />
    public void Write(ushort port, int size, uint value)
    {
        byte v = (byte)value;
        if (port == Platform.PitCommandPort)
        {
            if ((v >> 6) != 0) return; // channels 1 and 2 (and read-back) do not drive anything here
            int access = (v >> 4) & 3;
            if (access == 0)
            {
                _latch = CurrentCount();
                _latched = true;
                _readHigh = false;
                return;
            }
            _access = access;
            _mode = (v >> 1) & 7;
            if (_mode > 5) _mode -= 4;
            _writeHigh = _readHigh = false;
            _armed = false;
            NextDeadline = ulong.MaxValue;
            return;
        }
        if (port != Platform.PitChannel0Port) return;
        switch (_access)
        {
            case 1: Load(v); break;
            case 2: Load(v << 8); break;
            default:
                if (!_writeHigh) { _reload = (_reload & 0xFF00) | v; _writeHigh = true; }
                else { _writeHigh = false; Load((_reload & 0xFF) | (v << 8)); }
                break;
        }
    }

    private void Load(int count)
    {
        _reload = count == 0 ? 0x10000 : count;
        _start = PitNow(_now());
        _armed = true;
        NextDeadline = (_start + (ulong)_reload) * (ulong)Platform.InstructionsPerPitTick;
    }

    private ushort CurrentCount()
    {
        if (!_armed) return (ushort)_reload;
        ulong elapsed = PitNow(_now()) - _start;
        return (ushort)(_reload - (int)(elapsed % (ulong)_reload));
    }
}
