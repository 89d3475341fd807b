using VirtBench.Engines.Peers;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;
using VirtBench.Testing;

namespace VirtBench.Reports.Tests;

/// <summary>Host-speed measurements: the two-size arithmetic, QEMU comparisons, their files and their place in the report.</summary>
public sealed class HostSpeedTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("virtbench-hostspeed-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static TwoSizeTiming Timing(double small, double large) =>
        new(new TimedSize(100, 100, 10_000, small), new TimedSize(200, 200, 19_000, large));

    [Fact]
    public void TheDifferenceOfTwoSizesCancelsBoot()
    {
        var t = Timing(1.0, 1.5);
        Assert.Equal(0.5e9 / 100, t.HostNanosecondsPerOp!.Value, 9);
        Assert.Equal(9_000 / 0.5, t.GuestInstructionsPerSecond!.Value, 9);
        Assert.Null(Timing(1.5, 1.5).HostNanosecondsPerOp); // noise hid the work: no figure rather than a wrong one
        Assert.Null(Timing(1.5, 1.2).GuestInstructionsPerSecond);
    }

    [Fact]
    public void PeersKeepQemusFastestRunAndCheckItsOutput()
    {
        var seconds = new Queue<double>([0.30, 0.52, 0.20, 0.45, 0.25, 0.40]); // N, 2N, N, 2N...: fastest 0.20 and 0.40
        var options = new PeerOptions
        {
            IterationScale = 2,
            Repeats = 3,
            QemuVersion = "QEMU emulator version 0.0 (fake)",
            Boot = image =>
            {
                var (workload, n) = FakeWorkloads.Decode(image);
                string output = workload == "forkwait" && n == 160 ? "forkwait: panic\n" : FakeWorkloads.ExpectedOutput(workload, n);
                return new QemuRun(1, output, "", false, TimeSpan.FromSeconds(workload == "syscall" ? seconds.Dequeue() : 0.1));
            },
        };
        var heard = new List<string>();
        var peers = PeerRunner.Run(FakeWorkloads.All, FakeEngine.Native(), options, r => heard.Add(r.Name));

        Assert.Equal(["syscall", "forkwait"], heard);
        var syscall = peers.Images[0];
        Assert.True(syscall.OutputMatches, syscall.Message);
        Assert.Equal((200u, 400u, 200ul, 400ul), (syscall.Qemu.Small.Iterations, syscall.Qemu.Large.Iterations, syscall.Qemu.Small.Ops, syscall.Qemu.Large.Ops));
        Assert.Equal((0.20, 0.40), (syscall.Qemu.Small.HostSeconds, syscall.Qemu.Large.HostSeconds));
        Assert.Equal(0.20e9 / 200, syscall.Qemu.HostNanosecondsPerOp!.Value, 6);

        var forkwait = peers.Images[1];
        Assert.False(forkwait.OutputMatches);
        Assert.Equal("serial output at 160 iterations differs from the native engine's: line 1: expected \"forkwait: 160 ops ok\", got \"forkwait: panic\"",
            forkwait.Message);
        Assert.Equal((3, "QEMU emulator version 0.0 (fake)"), (peers.Repeats, peers.Qemu));
    }

    [Fact]
    public void ATimedOutOrFailingQemuIsAMismatch()
    {
        var options = new PeerOptions { Repeats = 1, Boot = _ => new QemuRun(-1, "", "", true, TimeSpan.FromSeconds(120)) };
        var result = Assert.Single(PeerRunner.Run([FakeWorkloads.All[0]], FakeEngine.Native(), options).Images);
        Assert.Equal((false, "QEMU timed out at 1000 iterations"), (result.OutputMatches, result.Message));

        options = options with { Boot = image => new QemuRun(5, FakeWorkloads.ExpectedOutput("syscall", FakeWorkloads.Decode(image).Iterations), "", false, TimeSpan.Zero) };
        result = Assert.Single(PeerRunner.Run([FakeWorkloads.All[0]], FakeEngine.Native(), options).Images);
        Assert.Equal((false, "QEMU exit status 5 at 1000 iterations, the native engine's 1"), (result.OutputMatches, result.Message));
    }

    [Fact]
    public void BenchFilesMergeByEngineAndWorkload()
    {
        var host = HostInfo.Current();
        EngineSpeedResult Case(string engine, string workload, double seconds) => new(engine, workload, Timing(1, seconds), 200, 1);
        HostMeasurements.SaveBench(new BenchResults(DateTimeOffset.UtcNow, host, "modern",
            [Case("native", "syscall", 2), Case("native", "forkwait", 2)], [new LoopSpeedResult("loop-decjnz", 1e8)]), _directory);
        HostMeasurements.SaveBench(new BenchResults(DateTimeOffset.UtcNow, host, "modern", [Case("native", "syscall", 3), Case("emulation", "syscall", 4)], []), _directory);

        var bench = HostMeasurements.Load(_directory).Bench!;
        Assert.Equal(["native/forkwait/2", "native/syscall/3", "emulation/syscall/4"],
            bench.Engines.Select(c => $"{c.Engine}/{c.Workload}/{c.Timing.Large.HostSeconds}"));
        Assert.Equal([new LoopSpeedResult("loop-decjnz", 1e8)], bench.Loops);
        Assert.Equal(host, bench.Host);
    }

    [Fact]
    public void AnUnreadableMeasurementFileIsOneLineOrAWarning()
    {
        File.WriteAllText(Path.Combine(_directory, HostMeasurements.PeersFile), "{ \"schema\": \"virtbench-results\" }");
        File.WriteAllText(Path.Combine(_directory, HostMeasurements.BenchFile), "{ \"schema\": \"virtbench-bench\", \"created\": 3 }");
        var error = Assert.Throws<ResultsException>(() => HostMeasurements.Load(_directory));
        Assert.Equal($"{Path.Combine(_directory, "bench.json")}: $.created: has the wrong type or value (not written by virtbench bench?)", error.Message);

        File.WriteAllText(Path.Combine(_directory, HostMeasurements.BenchFile), "{ \"schema\": \"virtbench-bench\" }");
        Assert.Equal($"{Path.Combine(_directory, "bench.json")}: $: lacks a required field (not written by virtbench bench?)",
            Assert.Throws<ResultsException>(() => HostMeasurements.Load(_directory)).Message);

        var warnings = new List<string>();
        Assert.Equal(HostMeasurements.None, HostMeasurements.Load(_directory, warnings.Add));
        Assert.Equal(2, warnings.Count);
        Assert.Equal($"{Path.Combine(_directory, "peers.json")}: schema: is not \"virtbench-peers\" (not written by virtbench peers?)", warnings[1]);
    }

    [Fact]
    public void TheReportShowsBenchAndPeersAndCopiesTheirFiles()
    {
        var results = SuitePricer.Apply(SuiteFixture.Run(), ProfileCatalog.Load("modern"));
        var host = HostInfo.Current();
        var bench = new BenchResults(DateTimeOffset.UtcNow, host, "modern",
            [new EngineSpeedResult("native", "syscall", Timing(1.0, 1.5), 200, 1), new EngineSpeedResult("hw-shadow", "syscall", Timing(1.0, 3.0), 900, 4.5)],
            [new LoopSpeedResult("loop-decjnz", 150e6)]);
        var peers = new PeerResults(DateTimeOffset.UtcNow, host, "QEMU emulator version 7.2.22", 3,
        [
            new PeerImageResult("syscall", true, "", Timing(0.1, 0.2)),
            new PeerImageResult("forkwait", false, "serial output at 400 iterations differs", Timing(0.1, 0.3)),
            new PeerImageResult("loop-decjnz", true, "", Timing(0.1, 0.2)),
        ]);
        var files = ReportWriter.Write(results, _directory, new HostMeasurements(bench, peers));

        Assert.Contains(Path.Combine(_directory, "bench.json"), files.Files);
        Assert.Contains(Path.Combine(_directory, "peers.json"), files.Files);
        Assert.Equal("peers.png", files.Charts[^1].FileName);
        Assert.Contains("Basis: BenchmarkDotNet means, boot excluded", files.Charts.Single(c => c.FileName == "host-speed.png").Caption);

        string html = File.ReadAllText(Path.Combine(_directory, "index.html"));
        Assert.Contains("<h2 id=\"host-speed\">", html);
        Assert.Contains("<td>hw-shadow</td><td>syscall</td>", html);
        Assert.Contains("<td class=\"num\">5,000,000 ns</td><td class=\"num\">0.0 M/s</td>", html); // native: 0.5 s over 100 ops
        Assert.Contains("<td>loop-decjnz</td><td class=\"num\">150.0 M/s</td><td class=\"num\">0.1 M/s</td><td class=\"num\">1,667x</td>", html);
        Assert.Contains("<span class=\"diverged\">differs</span><br><span class=\"small\">serial output at 400 iterations differs</span>", html);
        Assert.Contains("<td class=\"num\">5,000,000 ns (5.00x)</td>", html); // native's time per op over QEMU's (1,000,000 ns)

        var reread = HostMeasurements.Load(_directory);
        Assert.Equal(bench.Engines, reread.Bench!.Engines);
        Assert.Equal(peers.Images, reread.Peers!.Images);
    }

    [Fact]
    public void AReportWithoutMeasurementsSaysHowToGetThem()
    {
        var results = SuitePricer.Apply(SuiteFixture.Run(), ProfileCatalog.Load("modern"));
        var files = ReportWriter.Write(results, _directory);
        Assert.DoesNotContain(files.Files, f => f.EndsWith("bench.json") || f.EndsWith("peers.json"));
        Assert.Contains("run <code>virtbench bench</code> and <code>virtbench peers</code>", File.ReadAllText(Path.Combine(_directory, "index.html")));
    }
}
