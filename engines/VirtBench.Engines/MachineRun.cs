using VirtBench.Machine;

namespace VirtBench.Engines;

/// <summary>Turns a finished machine run into an <see cref="EngineRun"/> (what every engine returns).</summary>
internal static class MachineRun
{
    /// <summary>Builds the machine for an engine, checking that the image is the kernel flavor the engine needs.</summary>
    public static Pc Create(IEngine engine, GuestImage image, RunOptions options, uint vmmBytes = 0)
    {
        if (image.Flavor != engine.Flavor)
            throw new ArgumentException($"engine '{engine.Name}' needs the {engine.Flavor.ToString().ToLowerInvariant()} kernel flavor, but image '{image.Name}' is {image.Flavor.ToString().ToLowerInvariant()}");
        return new Pc(image, options.Machine with { VmmBytes = Math.Max(options.Machine.VmmBytes, vmmBytes) });
    }

    /// <summary>Collects outcome, output, counts and host time from a machine that has run.</summary>
    public static EngineRun Collect(IEngine engine, Pc pc, RunOutcome outcome, IReadOnlyList<VirtualizationHole>? holes = null) => new()
    {
        Engine = engine.Name,
        Image = pc.Image.Name,
        Outcome = outcome,
        UartOutput = pc.Uart.Output,
        Total = pc.Counters,
        Measured = pc.Bench.Measured,
        Operations = pc.Bench.Operations,
        HostTime = pc.HostTime,
        Holes = holes ?? [],
    };
}
