namespace VirtBench.Machine.Devices;

/// <summary>
/// The PC's pair of 8259A interrupt controllers (master at 0x20, slave at 0xA0 cascaded on IRQ 2):
/// initialization words ICW1-ICW4, the mask (OCW1), end of interrupt (OCW2), IRR/ISR reads (OCW3).
/// Edge-triggered, fully nested priority, as a PC BIOS leaves it and Linux programs it.
/// </summary>
public sealed class Pic8259 : IIoDevice
{
    private sealed class Chip
    {
        public byte Irr, Isr, Imr = 0xFF, VectorBase;
        public int InitStep;      // 0: operating; 2..4: expecting ICW2..ICW4
        public bool NeedIcw4, ReadIsr, AutoEoi, Single;

        public int HighestRequest()
        {
            int pending = Irr & ~Imr;
            for (int i = 0; i < 8; i++)
            {
                if ((Isr & (1 << i)) != 0) return -1; // a higher or equal priority is in service
                if ((pending & (1 << i)) != 0) return i;
            }
            return -1;
        }
    }

    private readonly Chip _master = new() { VectorBase = 0x08 }, _slave = new() { VectorBase = 0x70 };

    /// <summary>True when an unmasked request of higher priority than anything in service is pending.</summary>
    /// <remarks>Cached: the CPU samples it between blocks, and it changes only when the PIC's state does.</remarks>
    public bool InterruptRequested { get; private set; }

    private void Update() => InterruptRequested = _master.HighestRequest() >= 0;

    /// <summary>Interrupts acknowledged (delivered to the CPU).</summary>
    public long Acknowledged { get; private set; }

    /// <summary>Raises an edge on an IRQ line (0-15).</summary>
    public void RaiseIrq(int irq)
    {
        if (irq < 8) _master.Irr |= (byte)(1 << irq);
        else
        {
            _slave.Irr |= (byte)(1 << (irq - 8));
            if (_slave.HighestRequest() >= 0) _master.Irr |= 1 << 2;
        }
        Update();
    }

    /// <summary>The CPU's interrupt acknowledge cycle: returns the vector and moves the request in service.</summary>
    public int Acknowledge()
    {
        try { return AcknowledgeCore(); }
        finally { Update(); }
    }

    private int AcknowledgeCore()
    {
        Acknowledged++;
        int irq = _master.HighestRequest();
        if (irq < 0) return _master.VectorBase + 7; // spurious
        _master.Irr &= (byte)~(1 << irq);
        if (!_master.AutoEoi) _master.Isr |= (byte)(1 << irq);
        if (irq != 2 || _master.Single) return _master.VectorBase + irq;
        int s = _slave.HighestRequest();
        if (s < 0) return _slave.VectorBase + 7;
        _slave.Irr &= (byte)~(1 << s);
        if (!_slave.AutoEoi) _slave.Isr |= (byte)(1 << s);
        if (_slave.HighestRequest() >= 0) _master.Irr |= 1 << 2;
        return _slave.VectorBase + s;
    }

    /// <summary>The interrupt mask register of the master (low byte) and slave (high byte).</summary>
    public ushort Mask => (ushort)(_master.Imr | _slave.Imr << 8);

    /// <summary>The vector bases the guest programmed (master, slave).</summary>
    public (int Master, int Slave) VectorBases => (_master.VectorBase, _slave.VectorBase);

    /// <inheritdoc />
    public uint Read(ushort port, int size)
    {
        var chip = port is Platform.PicSlaveCommand or Platform.PicSlaveData ? _slave : _master;
        bool data = port is Platform.PicMasterData or Platform.PicSlaveData;
        return data ? chip.Imr : chip.ReadIsr ? chip.Isr : chip.Irr;
    }

    /// <inheritdoc />
    public void Write(ushort port, int size, uint value)
    {
        WriteCore(port, value);
        Update();
    }

    private void WriteCore(ushort port, uint value)
    {
        var chip = port is Platform.PicSlaveCommand or Platform.PicSlaveData ? _slave : _master;
        byte v = (byte)value;
        if (port is Platform.PicMasterCommand or Platform.PicSlaveCommand)
        {
            if ((v & 0x10) != 0)
            {
                // ICW1: start initialization.
                chip.InitStep = 2;
                chip.NeedIcw4 = (v & 1) != 0;
                chip.Single = (v & 2) != 0;
                chip.Imr = 0; chip.Isr = 0; chip.Irr = 0;
                chip.ReadIsr = false; chip.AutoEoi = false;
            }
            else if ((v & 0x08) != 0)
            {
                // OCW3: select IRR or ISR for reads.
                if ((v & 2) != 0) chip.ReadIsr = (v & 1) != 0;
            }
            else
            {
                // OCW2: end of interrupt.
                int command = v >> 5;
                if (command == 1) ClearHighestInService(chip);          // non-specific EOI
                else if (command == 3) chip.Isr &= (byte)~(1 << (v & 7)); // specific EOI
            }
            return;
        }
        switch (chip.InitStep)
        {
            case 2:
                chip.VectorBase = (byte)(v & 0xF8);
                chip.InitStep = chip.Single ? (chip.NeedIcw4 ? 4 : 0) : 3;
                break;
            case 3:
                chip.InitStep = chip.NeedIcw4 ? 4 : 0;
                break;
            case 4:
                chip.AutoEoi = (v & 2) != 0;
                chip.InitStep = 0;
                break;
            default:
                chip.Imr = v; // OCW1
                break;
        }
    }

    private static void ClearHighestInService(Chip chip)
    {
        for (int i = 0; i < 8; i++)
            if ((chip.Isr & (1 << i)) != 0) { chip.Isr &= (byte)~(1 << i); return; }
    }
}
