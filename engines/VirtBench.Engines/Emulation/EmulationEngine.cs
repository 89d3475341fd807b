using VirtBench.Machine;

namespace VirtBench.Engines.Emulation;

/// <summary>
/// Full emulation, Bochs-style: every guest instruction, kernel and user alike, is fetched, decoded and
/// dispatched by an interpreter. It executes exactly as <c>native</c> does (the simulated CPU is itself an
/// interpreter); it differs in what it counts: one <see cref="Event.InterpretedInstruction"/> per retired
/// instruction, which profiles price as decode-and-dispatch.
/// </summary>
public sealed class EmulationEngine : IEngine
{
    /// <inheritdoc />
    public string Name => "emulation";

    /// <inheritdoc />
    public string Description => "full emulation (Bochs-style): every guest instruction is interpreted";

    /// <inheritdoc />
    public KernelFlavor Flavor => KernelFlavor.Native;

    /// <inheritdoc />
    public EngineRun Run(GuestImage image, RunOptions options)
    {
        var pc = MachineRun.Create(this, image, options);
        var outcome = pc.Run();
        var run = MachineRun.Collect(this, pc, outcome);
        CountInterpretation(run.Total);
        if (run.Measured is not null) CountInterpretation(run.Measured);
        return run;
    }

    private static void CountInterpretation(Counters counters) =>
        counters.Add(Event.InterpretedInstruction, counters.TotalInstructions);
}
