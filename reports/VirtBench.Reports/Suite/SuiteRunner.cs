using System.Collections.Concurrent;
using System.Reflection;
using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.Suite;

/// <summary>
/// Runs every engine on every workload, pairs in parallel across cores, and returns the (unpriced) results in
/// a deterministic order: engine-major, as the options list them. A pair whose image cannot be built or whose
/// engine throws becomes a <c>fault</c> result; the run goes on.
/// </summary>
public static class SuiteRunner
{
    /// <summary>The tool's version, as recorded in results.</summary>
    public static string ToolVersion { get; } =
        typeof(SuiteRunner).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(SuiteRunner).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>Runs the suite; <paramref name="progress"/> is called (from worker threads) as pairs start and finish.</summary>
    public static SuiteResults Run(SuiteOptions options, Action<PairProgress>? progress = null)
    {
        if (options.Jobs < 1) throw new ArgumentOutOfRangeException(nameof(options), "jobs must be at least 1");
        var pairs = (from engine in options.Engines from workload in options.Workloads select (engine, workload)).ToList();
        var images = new ConcurrentDictionary<(string, KernelFlavor), Lazy<GuestImage>>();
        var runs = new EngineRun?[pairs.Count];
        var errors = new Exception?[pairs.Count];
        int done = 0;

        Parallel.ForEach(
            Partitioner.Create(Enumerable.Range(0, pairs.Count), EnumerablePartitionerOptions.NoBuffering),
            new ParallelOptions { MaxDegreeOfParallelism = options.Jobs },
            i =>
            {
                var (engine, workload) = pairs[i];
                uint iterations = workload.IterationsAt(options.IterationScale);
                progress?.Invoke(new PairProgress(engine.Name, workload.Name, Volatile.Read(ref done), pairs.Count, null));
                try
                {
                    var image = images.GetOrAdd((workload.Name, engine.Flavor),
                        key => new Lazy<GuestImage>(() => workload.BuildImage(key.Item2, iterations))).Value;
                    runs[i] = engine.Run(image, options.Run);
                }
                catch (Exception ex)
                {
                    // An engine bug or an unbuildable image must not stop the other pairs; it is reported as a fault.
                    errors[i] = ex;
                }
                int finished = Interlocked.Increment(ref done);
                progress?.Invoke(new PairProgress(engine.Name, workload.Name, finished, pairs.Count,
                    runs[i] is { } run ? RunClassifier.Classify(run, workload.Name, iterations, null) : RunClassifier.Failed(engine.Name, workload.Name, iterations, errors[i]!)));
            });

        var results = new List<PairResult>(pairs.Count);
        for (int i = 0; i < pairs.Count; i++)
        {
            var (engine, workload) = pairs[i];
            uint iterations = workload.IterationsAt(options.IterationScale);
            results.Add(runs[i] is { } run
                ? RunClassifier.Classify(run, workload.Name, iterations, NativeOutput(pairs, runs, workload.Name))
                : RunClassifier.Failed(engine.Name, workload.Name, iterations, errors[i]!));
        }

        var machine = options.Run.Machine;
        return new SuiteResults
        {
            ToolVersion = ToolVersion,
            Created = DateTimeOffset.UtcNow,
            Host = HostInfo.Current(),
            Parameters = new RunParameters
            {
                Engines = options.Engines.Select(e => e.Name).ToList(),
                Workloads = options.Workloads.Select(w => w.Name).ToList(),
                IterationScale = options.IterationScale,
                TlbEntries = machine.TlbEntries,
                RamBytes = machine.RamBytes,
                InstructionBudget = machine.InstructionBudget,
                AdaptiveTranslation = options.Run.AdaptiveTranslation,
                Jobs = options.Jobs,
            },
            Engines = options.Engines.Select(e => new EngineSummary(e.Name, e.Description, e.Flavor)).ToList(),
            Workloads = options.Workloads.Select(w => new WorkloadSummary(w.Name, w.Description, w.IterationsAt(options.IterationScale))).ToList(),
            Results = results,
        };
    }

    /// <summary>The native engine's output for a workload when it ran and exited successfully, else null.</summary>
    private static string? NativeOutput(List<(IEngine Engine, WorkloadSpec Workload)> pairs, EngineRun?[] runs, string workload)
    {
        int i = pairs.FindIndex(p => p.Engine.Name == SuiteResults.BaselineEngine && p.Workload.Name == workload);
        return i >= 0 && runs[i] is { Outcome.IsSuccess: true } native ? native.UartOutput : null;
    }
}
