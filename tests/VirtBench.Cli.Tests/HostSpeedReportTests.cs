using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Results;

namespace VirtBench.Cli.Tests;

/// <summary>run and report pick up bench.json and peers.json from the report folder.</summary>
public sealed class HostSpeedReportTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ReportCarriesTheMeasurementsBesideTheResultsIntoItsFolder()
    {
        string first = _temp.File("first"), second = _temp.File("second");
        Assert.Equal(0, Cli.Run("run", "-o", first).ExitCode);
        var timing = new TwoSizeTiming(new TimedSize(100, 100, 5_000, 0.5), new TimedSize(200, 200, 9_000, 0.7));
        HostMeasurements.SaveBench(new BenchResults(DateTimeOffset.UtcNow, HostInfo.Current(), "modern",
            [new EngineSpeedResult("hw-shadow", "forkwait", timing, 900, 3)], []), first);

        var r = Cli.Run("report", Path.Combine(first, "results.json"), "-o", second);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("hw-shadow", Assert.Single(HostMeasurements.Load(second).Bench!.Engines).Engine);
        Assert.Contains("<td>hw-shadow</td><td>forkwait</td>", File.ReadAllText(Path.Combine(second, "index.html")));
    }

    [Fact]
    public void AnUnreadableMeasurementFileCostsALineNotTheReport()
    {
        string folder = _temp.File("report");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, HostMeasurements.PeersFile), "not json");
        var r = Cli.Run("run", "-o", folder);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"virtbench: ignoring {Path.Combine(folder, "peers.json")}: line 1: bad JSON (not written by virtbench peers?)\n", r.Output);
        Assert.True(File.Exists(Path.Combine(folder, "index.html")));
    }
}
