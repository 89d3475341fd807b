using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using VirtBench.Benchmarks.Columns;
using VirtBench.Benchmarks.Machine;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Results;

namespace VirtBench.Benchmarks.Export;

/// <summary>
/// Exports a summary into the report folder's bench.json (merged with what is there), which <c>virtbench run</c>
/// and <c>virtbench report</c> read for the host-speed chart, the QEMU comparison and the host-speed tables.
/// </summary>
public sealed class BenchJsonExporter(CountedRuns runs, string reportDirectory) : IExporter
{
    /// <inheritdoc />
    public string Name => "virtbench-bench-json";

    /// <inheritdoc />
    public void ExportToLog(Summary summary, ILogger logger)
    {
    }

    /// <inheritdoc />
    public IEnumerable<string> ExportToFiles(Summary summary, ILogger logger)
    {
        var bench = From(summary, runs);
        if (bench.Engines.Count == 0 && bench.Loops.Count == 0) return [];
        return [HostMeasurements.SaveBench(bench, reportDirectory)]; // BenchmarkDotNet lists the files exported
    }

    /// <summary>The engine cases measured at both scales and the speed loops of a summary.</summary>
    public static BenchResults From(Summary summary, CountedRuns runs)
    {
        var engines = new List<EngineSpeedResult>();
        foreach (var c in summary.BenchmarksCases)
        {
            if (EngineCaseKey.Of(c) is not { } key || key.Scale != Engines.EngineCases.Scales[0]) continue;
            if (BenchColumns.Timing(runs, summary, c) is not { } timing) continue;
            engines.Add(new EngineSpeedResult(key.Engine, key.Workload, timing,
                runs.Get(key.Engine, key.Workload, key.Scale).CyclesPerOp, runs.OverheadVsNative(key.Engine, key.Workload, key.Scale)));
        }
        var loops = summary.BenchmarksCases
            .Where(c => c.Descriptor.Type == typeof(MachineSpeed) && summary[c]?.ResultStatistics is not null)
            .Select(c => new LoopSpeedResult(MachineSpeed.LoopOf(c.Descriptor.WorkloadMethod.Name), 1e9 / summary[c]!.ResultStatistics!.Mean))
            .ToList();
        return new BenchResults(DateTimeOffset.UtcNow, HostInfo.Current(), runs.Profile.Name, engines, loops);
    }
}
