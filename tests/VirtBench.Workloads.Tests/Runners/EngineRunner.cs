using VirtBench.Engines;
using VirtBench.Machine;

namespace VirtBench.Workloads.Tests.Runners;

/// <summary>Runs images on one of our engines (the same behaviour tests as QEMU, on the simulated PC).</summary>
public sealed class EngineRunner(string engine) : GuestRunner
{
    private readonly IEngine _engine = EngineCatalog.Get(engine);

    /// <inheritdoc />
    public override string Name => _engine.Name;

    /// <inheritdoc />
    public override string? UnavailableReason => null;

    /// <summary>The engine's kernel flavor (images must be built for it).</summary>
    public override KernelFlavor Flavor => _engine.Flavor;

    /// <inheritdoc />
    public override GuestRunResult Run(GuestImage image)
    {
        var run = _engine.Run(image, new RunOptions { Machine = new MachineOptions { InstructionBudget = 400_000_000 } });
        int status = run.Outcome.Kind == OutcomeKind.DebugExit ? run.Outcome.ExitStatus : -1;
        return new GuestRunResult(run.UartOutput.Replace("\r", ""), status, $"{_engine.Name}: {run.Outcome}");
    }
}
