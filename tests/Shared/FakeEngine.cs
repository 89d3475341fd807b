using Iced.Intel;
using VirtBench.Engines;
using VirtBench.Machine;

namespace VirtBench.Testing;

/// <summary>
/// A hand-made engine for report and CLI tests: every operation of a workload "retires" a fixed recipe of
/// events and instructions, so every count (and so every priced figure) is known in advance.
/// The iteration count is read back from the fake image (see <see cref="FakeWorkloads"/>).
/// </summary>
internal sealed class FakeEngine : IEngine
{
    private readonly Action<Counters> _perOperation;

    public FakeEngine(string name, KernelFlavor flavor, Action<Counters> perOperation)
    {
        Name = name;
        Flavor = flavor;
        _perOperation = perOperation;
    }

    public string Name { get; }
    public string Description => $"fake engine '{Name}' for tests";
    public KernelFlavor Flavor { get; }

    /// <summary>Replaces the guest's UART output (to make a run diverge).</summary>
    public string? OutputOverride { get; init; }

    /// <summary>The outcome to report (default: a successful debug exit).</summary>
    public RunOutcome Outcome { get; init; } = new(OutcomeKind.DebugExit, "guest exited", 1);

    /// <summary>Holes to report.</summary>
    public IReadOnlyList<VirtualizationHole> Holes { get; init; } = [];

    /// <summary>Set to make <see cref="Run"/> throw.</summary>
    public bool Throws { get; init; }

    public EngineRun Run(GuestImage image, RunOptions options)
    {
        if (Throws) throw new InvalidOperationException("fake engine failure");
        var (workload, iterations) = FakeWorkloads.Decode(image);
        var measured = new Counters();
        for (uint i = 0; i < iterations; i++) _perOperation(measured);
        var total = measured.Snapshot();
        total.AddInstructions(ExecutionMode.Ring0, Mnemonic.Mov, 1000); // boot
        return new EngineRun
        {
            Engine = Name,
            Image = image.Name,
            Outcome = Outcome,
            UartOutput = OutputOverride ?? FakeWorkloads.ExpectedOutput(workload, iterations),
            Total = total,
            Measured = Outcome.IsSuccess ? measured : null,
            Operations = iterations,
            HostTime = TimeSpan.FromMilliseconds(5 + iterations / 10.0),
            Holes = Holes,
        };
    }

    /// <summary>The baseline: per operation, 40 user movs, 10 kernel adds, a system call and its return, one TLB miss.</summary>
    public static FakeEngine Native() => new("native", KernelFlavor.Native, NativeOperation);

    /// <summary>A classical VMM: native's work, with the system call trapping and being reflected.</summary>
    public static FakeEngine TrapAndEmulate(string name = "trap-emulate-pg") => new(name, KernelFlavor.Native, c =>
    {
        NativeOperation(c);
        c.Add(Event.TrapSoftwareInterrupt);
        c.Add(Event.ReflectedSystemCall);
        c.AddEmulation(Mnemonic.Cli);
    });

    /// <summary>A VT-x style engine: native's work plus one I/O exit, its entry and ten VMCS reads per operation.</summary>
    public static FakeEngine HardwareAssisted(string name = "hw-shadow") => new(name, KernelFlavor.Native, c =>
    {
        NativeOperation(c);
        c.Add(Event.ExitIo);
        c.Add(Event.VmEntry);
        c.Add(Event.VmcsRead, 10);
    });

    /// <summary>A paravirtual engine: native's work plus one hypercall per operation, on the paravirtual kernel.</summary>
    public static FakeEngine Paravirtual(string name = "paravirt") => new(name, KernelFlavor.Paravirtual, c =>
    {
        NativeOperation(c);
        c.Add(Event.HypercallMmuUpdate);
        c.Add(Event.HypercallMmuUpdateEntry, 4);
    });

    private static void NativeOperation(Counters c)
    {
        c.AddInstructions(ExecutionMode.Ring3, Mnemonic.Mov, 40);
        c.AddInstructions(ExecutionMode.Ring0, Mnemonic.Add, 10);
        c.AddInstructions(ExecutionMode.Ring3, Mnemonic.Int, 1);
        c.AddInstructions(ExecutionMode.Ring0, Mnemonic.Iretd, 1);
        c.Add(Event.SoftwareInterruptDelivered);
        c.Add(Event.TlbMiss);
        c.Add(Event.PageWalkReference, 2);
    }
}
