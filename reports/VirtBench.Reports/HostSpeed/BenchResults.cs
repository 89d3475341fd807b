using VirtBench.Reports.Results;

namespace VirtBench.Reports.HostSpeed;

/// <summary>
/// What <c>virtbench bench</c> measured with BenchmarkDotNet: the content of bench.json in the report folder.
/// Host times are measured on <see cref="Host"/>; cycles are modeled with the profile <see cref="Profile"/>.
/// </summary>
/// <param name="Created">When the measurements were exported.</param>
/// <param name="Host">The machine that ran them.</param>
/// <param name="Profile">The cost profile of the modeled figures.</param>
/// <param name="Engines">Engine x workload cases, each timed at two sizes.</param>
/// <param name="Loops">The machine's speed loops.</param>
public sealed record BenchResults(DateTimeOffset Created, HostInfo Host, string Profile,
    IReadOnlyList<EngineSpeedResult> Engines, IReadOnlyList<LoopSpeedResult> Loops)
{
    /// <summary>The document's "schema" value.</summary>
    public string Schema => HostMeasurements.BenchSchema;

    /// <summary>
    /// These results with the cases and loops of <paramref name="newer"/> added, replacing those it measured again
    /// (so a bench of one engine does not drop the others).
    /// </summary>
    public BenchResults MergedWith(BenchResults newer) => newer with
    {
        Engines = [.. Engines.Where(old => !newer.Engines.Any(n => n.Engine == old.Engine && n.Workload == old.Workload)), .. newer.Engines],
        Loops = [.. Loops.Where(old => newer.Loops.All(n => n.Loop != old.Loop)), .. newer.Loops],
    };
}

/// <summary>One engine on one workload: BenchmarkDotNet's mean host time at two sizes, and the modeled figures.</summary>
/// <param name="Engine">The engine.</param>
/// <param name="Workload">The workload.</param>
/// <param name="Timing">Mean host time of a whole run at N and 2N iterations, with the counts of those runs.</param>
/// <param name="CyclesPerOp">Modeled cycles per operation at N iterations.</param>
/// <param name="OverheadVsNative">Modeled cycles per operation over native's, or null without a native run.</param>
public sealed record EngineSpeedResult(string Engine, string Workload, TwoSizeTiming Timing, double? CyclesPerOp, double? OverheadVsNative);

/// <summary>A speed loop of the simulated machine: guest instructions per host second.</summary>
/// <param name="Loop">The loop's name.</param>
/// <param name="GuestInstructionsPerSecond">BenchmarkDotNet's mean, as guest instructions per host second.</param>
public sealed record LoopSpeedResult(string Loop, double GuestInstructionsPerSecond);
