using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using VirtBench.Benchmarks.Engines;
using VirtBench.Reports;
using VirtBench.Reports.HostSpeed;

namespace VirtBench.Benchmarks.Columns;

/// <summary>An engine case's parameters.</summary>
/// <param name="Engine">The engine.</param>
/// <param name="Workload">The workload.</param>
/// <param name="Scale">Iterations as a multiple of the workload's default.</param>
public readonly record struct EngineCaseKey(string Engine, string Workload, int Scale)
{
    /// <summary>The key of an <see cref="EngineSpeed"/> case, or null for other benchmarks.</summary>
    public static EngineCaseKey? Of(BenchmarkCase c) =>
        c.Descriptor.Type == typeof(EngineSpeed)
            ? new EngineCaseKey((string)c.Parameters[nameof(EngineSpeed.Engine)], (string)c.Parameters[nameof(EngineSpeed.Workload)],
                (int)c.Parameters[nameof(EngineSpeed.Scale)])
            : null;
}

/// <summary>
/// The suite's custom columns: host time per operation and guest instructions per host second (boot excluded,
/// from the means at both scales), and the modeled cycles per operation and overhead versus native (from the
/// counts of the same runs, priced with the profile of <see cref="CountedRuns"/>).
/// </summary>
public sealed class BenchColumns(CountedRuns runs)
{
    /// <summary>The counted runs behind the columns.</summary>
    public CountedRuns Runs => runs;

    /// <summary>Host time per guest operation, boot excluded (measured).</summary>
    public IColumn HostTimePerOp { get; } = new CaseColumn("Host ns/op",
        "Host nanoseconds per guest operation, boot excluded: (mean at Scale 2 - mean at Scale 1) / (ops at Scale 2 - ops at Scale 1) (measured)", 0,
        (summary, c) => Timing(runs, summary, c)?.HostNanosecondsPerOp is { } ns ? Format.Cycles(ns) : null);

    /// <summary>Guest instructions per host second, boot excluded (measured).</summary>
    public IColumn GuestMips { get; } = new CaseColumn("Guest MIPS",
        "Millions of guest instructions per host second, boot excluded: extra instructions of Scale 2 over Scale 1 / extra mean time (measured)", 1,
        (summary, c) => Timing(runs, summary, c)?.GuestInstructionsPerSecond is { } ips ? (ips / 1e6).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) : null);

    /// <summary>Modeled cycles per operation of the case's own run.</summary>
    public IColumn CyclesPerOp { get; } = new CaseColumn("Cycles/op (modeled)",
        $"Modeled cycles per operation: exact counts of the measured region priced with the cost profile {runs.Profile.Name} (a model, not a measurement)", 2,
        (_, c) => EngineCaseKey.Of(c) is { } k && runs.Get(k.Engine, k.Workload, k.Scale).CyclesPerOp is { } cycles ? Format.Cycles(cycles) : null);

    /// <summary>Modeled overhead versus native on the same image size.</summary>
    public IColumn Overhead { get; } = new CaseColumn("Overhead (modeled)",
        $"Modeled cycles per operation over the native engine's on the same workload and size (profile {runs.Profile.Name})", 3,
        (_, c) => EngineCaseKey.Of(c) is { } k && runs.OverheadVsNative(k.Engine, k.Workload, k.Scale) is { } overhead ? Format.Overhead(overhead) : null);

    /// <summary>All four, in table order.</summary>
    public IColumn[] All => [HostTimePerOp, GuestMips, CyclesPerOp, Overhead];

    /// <summary>
    /// The case's engine and workload timed at both scales (BenchmarkDotNet's means with the counts of those runs),
    /// or null for other benchmarks and when a scale did not run or failed.
    /// </summary>
    public static TwoSizeTiming? Timing(CountedRuns runs, Summary summary, BenchmarkCase c)
    {
        if (EngineCaseKey.Of(c) is not { } key) return null;
        var sizes = new List<TimedSize>();
        foreach (int scale in EngineCases.Scales)
        {
            var sibling = summary.BenchmarksCases.FirstOrDefault(o =>
                EngineCaseKey.Of(o) == key with { Scale = scale } && o.Job.DisplayInfo == c.Job.DisplayInfo);
            if (sibling is null || summary[sibling]?.ResultStatistics is not { } statistics) return null;
            var counted = runs.Get(key.Engine, key.Workload, scale);
            sizes.Add(new TimedSize(counted.Iterations, counted.Ops, counted.GuestInstructions, statistics.Mean / 1e9));
        }
        return new TwoSizeTiming(sizes[0], sizes[^1]);
    }
}
