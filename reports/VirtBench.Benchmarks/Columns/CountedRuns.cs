using System.Collections.Concurrent;
using VirtBench.Benchmarks.Engines;
using VirtBench.Engines;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;

namespace VirtBench.Benchmarks.Columns;

/// <summary>The deterministic facts of one benchmark case's run: what the columns derive from.</summary>
/// <param name="Iterations">Iterations the image was built with.</param>
/// <param name="Ops">Operations the guest declared for its measured region.</param>
/// <param name="GuestInstructions">Guest instructions retired in the whole run, boot included.</param>
/// <param name="CyclesPerOp">Modeled cycles per operation of the measured region, or null without one.</param>
public sealed record CountedRun(uint Iterations, ulong Ops, ulong GuestInstructions, double? CyclesPerOp);

/// <summary>
/// Runs benchmark cases once in the host process for their exact counts. BenchmarkDotNet runs every case in a
/// process of its own and reports only time; the counts are deterministic, so a run here has the very counts the
/// timed runs had. Each case runs once, however many columns ask.
/// </summary>
public sealed class CountedRuns(CostProfile profile)
{
    private readonly ConcurrentDictionary<(string, string, int), Lazy<CountedRun>> _runs = new();

    /// <summary>The profile that prices the counts.</summary>
    public CostProfile Profile => profile;

    /// <summary>The counts of <paramref name="engine"/> on <paramref name="workload"/> at <paramref name="scale"/>.</summary>
    public CountedRun Get(string engine, string workload, int scale) =>
        _runs.GetOrAdd((engine, workload, scale), key => new Lazy<CountedRun>(() => Count(key.Item1, key.Item2, key.Item3))).Value;

    /// <summary>Modeled cycles per operation over native's on the same image size, or null when either has none.</summary>
    public double? OverheadVsNative(string engine, string workload, int scale) =>
        Get(engine, workload, scale).CyclesPerOp is { } cycles && Get(SuiteResults.BaselineEngine, workload, scale).CyclesPerOp is { } native and > 0
            ? cycles / native
            : null;

    private CountedRun Count(string engineName, string workload, int scale)
    {
        var engine = EngineCatalog.Get(engineName);
        var run = EngineCases.Run(engine, EngineCases.Image(engine, workload, scale));
        double? cycles = run.Measured is { } measured && run.Operations > 0
            ? Pricer.Price(measured, profile).PerOperation(run.Operations).Total
            : null;
        return new CountedRun(EngineCases.Iterations(workload, scale), run.Operations, run.Total.TotalInstructions, cycles);
    }
}
