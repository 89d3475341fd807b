using System.Diagnostics;
using VirtBench.Machine.Devices;
using VirtBench.Machine.Memory;

namespace VirtBench.Machine;

/// <summary>
/// The VirtBench PC: CPU, memory, I/O bus and devices (COM1, isa-debug-exit, PIC pair, PIT, bench port),
/// with a guest image loaded. Build one, optionally let an engine attach its monitor, then <see cref="Run"/>.
/// </summary>
public sealed class Pc
{
    /// <summary>Builds the machine and loads the image (throws <see cref="ArgumentException"/> or <see cref="InvalidDataException"/> for bad options or images).</summary>
    public Pc(GuestImage image, MachineOptions? options = null)
    {
        Options = options ?? new MachineOptions();
        Options.Validate();
        Image = image;
        Counters = new Counters();
        Memory = new PhysicalMemory(Options.RamBytes, Options.VmmBytes);
        Bus = new IoBus();
        Cpu = new Cpu.Cpu(Memory, Counters, Bus, Options.TlbEntries) { Budget = Options.InstructionBudget };
        Uart = new Uart16550();
        Pic = new Pic8259();
        Pit = new Pit8254(Pic, () => Cpu.Ticks);
        Bench = new BenchPort(Counters);
        Bus.Register(Uart, Uart.BasePort, 8);
        Bus.Register(Pic, Platform.PicMasterCommand, 2);
        Bus.Register(Pic, Platform.PicSlaveCommand, 2);
        Bus.Register(Pit, Platform.PitChannel0Port, 4);
        Bus.Register(new DebugExit(Cpu.Stop), Platform.DebugExitPort, 4);
        Bus.Register(Bench, Platform.BenchControlPort, 1);
        Bus.Register(Bench, Platform.BenchOpsPort, 1);
        Cpu.InterruptController = Pic;
        Cpu.Timer = Pit;
        MultibootLoader.Load(image, Memory, Cpu);
    }

    /// <summary>The options it was built with.</summary>
    public MachineOptions Options { get; }

    /// <summary>The loaded image.</summary>
    public GuestImage Image { get; }

    /// <summary>The processor.</summary>
    public Cpu.Cpu Cpu { get; }

    /// <summary>Machine memory (guest RAM, then the VMM region).</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The I/O bus.</summary>
    public IoBus Bus { get; }

    /// <summary>COM1.</summary>
    public Uart16550 Uart { get; }

    /// <summary>The interrupt controllers.</summary>
    public Pic8259 Pic { get; }

    /// <summary>The timer.</summary>
    public Pit8254 Pit { get; }

    /// <summary>The measured-region marker.</summary>
    public BenchPort Bench { get; }

    /// <summary>The run's counters.</summary>
    public Counters Counters { get; }

    /// <summary>Host time spent in <see cref="Run"/>.</summary>
    public TimeSpan HostTime { get; private set; }

    /// <summary>Runs until the guest exits, halts for good, triple faults, exhausts the budget, or an engine stops it.</summary>
    public RunOutcome Run()
    {
        var watch = Stopwatch.StartNew();
        var outcome = Cpu.Run();
        HostTime += watch.Elapsed;
        return outcome;
    }
}
