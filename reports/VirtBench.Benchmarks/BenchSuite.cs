using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using Perfolizer.Horology;
using VirtBench.Benchmarks.Columns;
using VirtBench.Benchmarks.Engines;
using VirtBench.Benchmarks.Export;
using VirtBench.Benchmarks.Machine;
using VirtBench.Reports.Profiles;

namespace VirtBench.Benchmarks;

/// <summary>What <c>virtbench bench</c> measures and where its exports go.</summary>
/// <param name="ReportDirectory">The report folder: bench.json goes there, BenchmarkDotNet's own files into its <c>bench</c> folder.</param>
/// <param name="Profile">The cost profile of the modeled columns.</param>
/// <param name="Engines">The engines whose cases run.</param>
/// <param name="Workloads">The workloads whose cases run.</param>
public sealed record BenchSettings(string ReportDirectory, CostProfile Profile, IReadOnlyList<string> Engines, IReadOnlyList<string> Workloads);

/// <summary>The BenchmarkDotNet suite: its benchmark classes and its configuration.</summary>
public static class BenchSuite
{
    /// <summary>The folder, inside the report folder, for BenchmarkDotNet's artifacts (logs and its own result tables).</summary>
    public const string ArtifactsFolder = "bench";

    /// <summary>
    /// The job when the arguments name none: 3 warmup and 10 measured iterations of about 250 ms, so that every
    /// engine on the default workloads finishes in minutes (BenchmarkDotNet's own default takes about a minute a
    /// case here). A job named in the arguments (<c>--job default</c>, <c>--job short</c>...) replaces it, and
    /// characteristics given there (<c>--iterationCount</c>...) apply on top of it.
    /// </summary>
    public static Job DefaultJob { get; } = Job.Default
        .WithWarmupCount(3).WithIterationCount(10).WithIterationTime(TimeInterval.FromMilliseconds(250))
        .WithId("VirtBench").AsDefault();

    /// <summary>Every benchmark class of the suite.</summary>
    public static Type[] Benchmarks { get; } = [typeof(EngineSpeed), typeof(MachineSpeed)];

    /// <summary>
    /// BenchmarkDotNet's default columns, exporters, analysers and validators, plus the suite's custom columns, the
    /// bench.json exporter, the engine and workload selection, <paramref name="logger"/> (the console by default), and
    /// <see cref="DefaultJob"/> unless <paramref name="jobGiven"/>.
    /// </summary>
    public static ManualConfig Config(BenchSettings settings, ILogger? logger = null, bool jobGiven = false)
    {
        var columns = new BenchColumns(new CountedRuns(settings.Profile));
        var defaults = DefaultConfig.Instance;
        var config = ManualConfig.CreateEmpty()
            .AddColumnProvider(defaults.GetColumnProviders().ToArray())
            .AddColumn(columns.All)
            .AddExporter(defaults.GetExporters().ToArray())
            .AddExporter(new BenchJsonExporter(columns.Runs, settings.ReportDirectory))
            .AddAnalyser(defaults.GetAnalysers().ToArray())
            .AddValidator(defaults.GetValidators().ToArray())
            .AddLogger(logger ?? ConsoleLogger.Default)
            .AddFilter(new SimpleFilter(c => EngineCaseKey.Of(c) is not { } key
                                             || (settings.Engines.Contains(key.Engine) && settings.Workloads.Contains(key.Workload))))
            .WithArtifactsPath(Path.Combine(settings.ReportDirectory, ArtifactsFolder));
        // BenchmarkDotNet keeps a configured default job's settings over those of a job named on the command line.
        return jobGiven ? config : config.AddJob(DefaultJob);
    }
}
