namespace VirtBench.Machine;

/// <summary>
/// The "VirtBench PC": memory map and I/O ports that the machine, the guest kernel and QEMU agree on.
/// Everything here is also true under <c>qemu-system-i386 -kernel</c>, except the bench port, which QEMU ignores.
/// </summary>
public static class Platform
{
    /// <summary>Default guest RAM (64 MiB).</summary>
    public const uint DefaultRamBytes = 64u << 20;

    /// <summary>Where multiboot loads the kernel image (1 MiB).</summary>
    public const uint KernelLoadAddress = 0x0010_0000;

    /// <summary>Where this machine's loader places the multiboot information structure.</summary>
    public const uint MultibootInfoAddress = 0x0000_9000;

    /// <summary>Value of EAX at the kernel's entry point (multiboot v1).</summary>
    public const uint MultibootBootMagic = 0x2BAD_B002;

    /// <summary>COM1: 16550 UART base port.</summary>
    public const ushort Com1Port = 0x3F8;

    /// <summary>QEMU's isa-debug-exit (iobase 0xf4): writing v exits with status v*2+1.</summary>
    public const ushort DebugExitPort = 0xF4;

    /// <summary>Master 8259A PIC command and data ports.</summary>
    public const ushort PicMasterCommand = 0x20, PicMasterData = 0x21;

    /// <summary>Slave 8259A PIC command and data ports.</summary>
    public const ushort PicSlaveCommand = 0xA0, PicSlaveData = 0xA1;

    /// <summary>8254 PIT: channel 0 data port and the mode/command port.</summary>
    public const ushort PitChannel0Port = 0x40, PitCommandPort = 0x43;

    /// <summary>
    /// Bench port, control: a 32-bit write of <see cref="BenchBegin"/> opens the measured region,
    /// <see cref="BenchEnd"/> closes it. Unassigned on a QEMU PC, so QEMU ignores it.
    /// </summary>
    public const ushort BenchControlPort = 0xE0;

    /// <summary>Bench port, operations: a 32-bit write sets the operation count of the measured region.</summary>
    public const ushort BenchOpsPort = 0xE4;

    /// <summary>Bench control commands.</summary>
    public const uint BenchBegin = 1, BenchEnd = 2;

    /// <summary>
    /// Simulated time: the PIT input clock advances one tick per this many retired guest instructions
    /// (idle time in <c>hlt</c> is skipped forward to the next timer deadline).
    /// </summary>
    public const int InstructionsPerPitTick = 8;

    /// <summary>Page size of the 2-level paging the guest uses.</summary>
    public const uint PageSize = 4096;
}
