using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
using VirtBench.Benchmarks;
using VirtBench.Benchmarks.Columns;
using VirtBench.Benchmarks.Engines;
using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Reports;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Workloads;

namespace VirtBench.Cli.Tests;

/// <summary>One tiny benchmark case, in-process: its custom columns hold the figures the counts give.</summary>
public sealed class BenchSmokeTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void TheCustomColumnsHoldTheCountsDerivedFigures()
    {
        var profile = ProfileCatalog.Load("pentium4-2006");
        var settings = new BenchSettings(_temp.Path, profile, ["emulation"], ["forkwait"]);
        var config = BenchSuite.Config(settings, NullLogger.Instance)
            .AddJob(Job.Dry.WithToolchain(new InProcessNoEmitToolchain(TimeSpan.FromMinutes(2), logOutput: false)))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator); // Debug test builds: columns are checked, not speed
        var summary = BenchmarkRunner.Run<EngineSpeed>(config);
        Assert.Equal(2, summary.BenchmarksCases.Length); // emulation x forkwait (the quickest to run) at both scales, nothing else
        Assert.All(summary.Reports, r => Assert.True(r.Success, r.ToString()));

        // The same figures from an engine run and the pricer, independently of the columns' code.
        var workload = WorkloadCatalog.Get("forkwait");
        uint iterations = workload.DefaultIterations * (uint)EngineCases.Scales[0];
        var image = ImageBuilder.Build(workload, KernelFlavor.Native, iterations);
        double CyclesPerOp(string engine)
        {
            var run = EngineCatalog.Get(engine).Run(image, new RunOptions());
            return Pricer.Price(run.Measured!, profile).Total / run.Operations;
        }
        double emulation = CyclesPerOp("emulation"), native = CyclesPerOp("native");
        Assert.True(emulation > native * 2, $"emulation {emulation} vs native {native} cycles/op");

        var small = summary.BenchmarksCases.Single(c => (int)c.Parameters["Scale"] == EngineCases.Scales[0]);
        var large = summary.BenchmarksCases.Single(c => (int)c.Parameters["Scale"] == EngineCases.Scales[1]);
        var columns = summary.Table.Columns.Select(c => c.OriginalColumn).ToDictionary(c => c.ColumnName);
        Assert.Equal(Format.Cycles(emulation), columns["Cycles/op (modeled)"].GetValue(summary, small));
        Assert.Equal(Format.Overhead(emulation / native), columns["Overhead (modeled)"].GetValue(summary, small));

        double extraNanoseconds = summary[large]!.ResultStatistics!.Mean - summary[small]!.ResultStatistics!.Mean;
        ulong extraOps = workload.Operations(workload.DefaultIterations * (uint)EngineCases.Scales[1]) - workload.Operations(iterations);
        string expectedTime = extraNanoseconds > 0 ? Format.Cycles(extraNanoseconds / extraOps) : "-";
        Assert.Equal(expectedTime, columns["Host ns/op"].GetValue(summary, small));
        Assert.Equal(expectedTime, columns["Host ns/op"].GetValue(summary, large));

        var bench = HostMeasurements.Load(_temp.Path).Bench!;
        var exported = Assert.Single(bench.Engines);
        Assert.Equal(("emulation", "forkwait", profile.Name), (exported.Engine, exported.Workload, bench.Profile));
        Assert.Equal(emulation, exported.CyclesPerOp!.Value, 9);
        Assert.Equal(emulation / native, exported.OverheadVsNative!.Value, 9);
        Assert.Equal((workload.DefaultIterations * (uint)EngineCases.Scales[0], workload.DefaultIterations * (uint)EngineCases.Scales[1]),
            (exported.Timing.Small.Iterations, exported.Timing.Large.Iterations));
        Assert.Equal(summary[small]!.ResultStatistics!.Mean / 1e9, exported.Timing.Small.HostSeconds, 12);
    }

    [Fact]
    public void EveryCatalogEngineAndWorkloadIsACase()
    {
        var cases = BenchmarkConverter.TypeToBenchmarks(typeof(EngineSpeed), ManualConfig.CreateEmpty().AddJob(Job.Dry)).BenchmarksCases;
        var keys = cases.Select(c => EngineCaseKey.Of(c)!.Value).ToHashSet();
        var expected = from e in EngineCatalog.All from w in WorkloadCatalog.All from s in EngineCases.Scales select new EngineCaseKey(e.Name, w.Name, s);
        Assert.Equal(expected.ToHashSet(), keys);
    }
}
