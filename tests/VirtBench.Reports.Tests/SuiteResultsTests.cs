using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;
using VirtBench.Reports.Suite;
using VirtBench.Testing;

namespace VirtBench.Reports.Tests;

public sealed class SuiteResultsTests
{
    private static readonly CostProfile Modern = ProfileCatalog.Load("modern");
    private static readonly CostProfile Pentium4 = ProfileCatalog.Load("pentium4-2006");

    [Fact]
    public void ResultsComeInEngineMajorOrderWhateverTheParallelism()
    {
        var results = SuiteFixture.Run(jobs: 3);
        Assert.Equal(
            from e in SuiteFixture.Engines from w in FakeWorkloads.All select (e.Name, w.Name),
            results.Results.Select(r => (r.Engine, r.Workload)));
        Assert.All(results.Results, r => Assert.Equal(RunStatus.Ok, r.Status));
    }

    [Fact]
    public void PricedFiguresFollowTheCountsAndOverheadIsRelativeToNative()
    {
        var priced = SuitePricer.Apply(SuiteFixture.Run(), Modern);
        var native = priced.Find("native", "syscall")!;
        // Per operation: 50 simple instructions, int 1, iret 75, delivery 75, one miss (0) and two walk references (14 each).
        Assert.Equal(50 + 1 + 75 + 75 + 28, native.Priced!.CyclesPerOp);
        Assert.Equal(1.0, native.Priced.OverheadVsNative);
        Assert.Equal(100u, native.Ops);
        Assert.Equal(100u * 52, native.GuestInstructions);

        var vmm = priced.Find("trap-emulate-pg", "syscall")!;
        double expected = 229 + 729 + 200 + 200; // + trap, reflection, emulation
        Assert.Equal(expected, vmm.Priced!.CyclesPerOp);
        Assert.Equal(expected / 229, vmm.Priced.OverheadVsNative);
        Assert.Equal(729 + 200, vmm.Priced.ByCategoryPerOp[EventCategory.TrapsAndEmulation]);
        Assert.Equal(200, vmm.Priced.ByCategoryPerOp[EventCategory.VirtualDelivery]);
    }

    [Fact]
    public void SavedResultsRepricedGiveExactlyTheFiguresOfAFreshPricing()
    {
        var raw = SuiteFixture.Run();
        string savedUnderModern = ResultsWriter.ToJson(SuitePricer.Apply(raw, Modern));
        var reloaded = ResultsReader.Parse(savedUnderModern, "results.json");

        var fresh = SuitePricer.Apply(raw, Pentium4);
        var repriced = SuitePricer.Apply(reloaded, Pentium4);

        Assert.Equal(ResultsWriter.ToJson(fresh), ResultsWriter.ToJson(repriced));
        Assert.NotEqual(savedUnderModern, ResultsWriter.ToJson(fresh));
        Assert.Equal(fresh.Results.Select(r => r.Priced?.CyclesPerOp), repriced.Results.Select(r => r.Priced?.CyclesPerOp));
    }

    [Fact]
    public void ResultsKeepCountsParametersAndTheProfileThroughJson()
    {
        var priced = SuitePricer.Apply(SuiteFixture.Run(scale: 0.5), Pentium4);
        var back = ResultsReader.Parse(ResultsWriter.ToJson(priced), "results.json");
        Assert.Equal(0.5, back.Parameters.IterationScale);
        Assert.Equal(50u, back.Workloads[0].Iterations);
        Assert.Equal(priced.Host, back.Host);
        Assert.Equal("pentium4-2006", back.Profile!.Name);
        for (int i = 0; i < priced.Results.Count; i++)
        {
            Assert.True(priced.Results[i].Measured!.SameAs(back.Results[i].Measured!));
            Assert.Equal(priced.Results[i].OutputChecksum, back.Results[i].OutputChecksum);
        }
    }

    [Fact]
    public void StatusesSayWhatHappened()
    {
        IReadOnlyList<IEngine> engines =
        [
            FakeEngine.Native(),
            new FakeEngine("trap-emulate", KernelFlavor.Native, _ => { }) { OutputOverride = "syscall: 7 ops WRONG\n" },
            new FakeEngine("budget", KernelFlavor.Native, _ => { }) { Outcome = new RunOutcome(OutcomeKind.BudgetExhausted, "2000 instructions") },
            new FakeEngine("exit3", KernelFlavor.Native, _ => { }) { Outcome = new RunOutcome(OutcomeKind.DebugExit, "guest exited", 3) },
            new FakeEngine("broken", KernelFlavor.Native, _ => { }) { Throws = true },
        ];
        var results = SuitePricer.Apply(SuiteFixture.Run(engines), Modern);

        var diverged = results.Find("trap-emulate", "syscall")!;
        Assert.Equal(RunStatus.Diverged, diverged.Status);
        Assert.Equal("UART output differs from native's: line 1: expected \"syscall: 100 ops ok\", got \"syscall: 7 ops WRONG\"", diverged.Message);
        Assert.NotNull(diverged.Priced!.OverheadVsNative);

        var budget = results.Find("budget", "syscall")!;
        Assert.Equal(RunStatus.Budget, budget.Status);
        Assert.Null(budget.Priced);

        Assert.Equal(RunStatus.Fault, results.Find("exit3", "syscall")!.Status);
        Assert.Equal(3, results.Find("exit3", "syscall")!.ExitStatus);

        var broken = results.Find("broken", "forkwait")!;
        Assert.Equal(RunStatus.Fault, broken.Status);
        Assert.Equal("InvalidOperationException: fake engine failure", broken.Message);
        Assert.Equal("error", broken.Outcome);
    }

    [Fact]
    public void WithoutNativeThereIsNoOverheadAndNoComparison()
    {
        var results = SuitePricer.Apply(SuiteFixture.Run([FakeEngine.HardwareAssisted()]), Modern);
        Assert.All(results.Results, r =>
        {
            Assert.Equal(RunStatus.Ok, r.Status);
            Assert.Null(r.Priced!.OverheadVsNative);
            Assert.Equal("not compared: no native result for this workload", r.Message);
        });
    }

    [Fact]
    public void ProgressReportsEveryStartAndFinish()
    {
        var seen = new List<PairProgress>();
        SuiteRunner.Run(new SuiteOptions { Engines = SuiteFixture.Engines, Workloads = FakeWorkloads.All, Jobs = 2 },
            p => { lock (seen) seen.Add(p); });
        Assert.Equal(8, seen.Count(p => p.Finished is null));
        Assert.Equal(Enumerable.Range(1, 8), seen.Where(p => p.Finished is not null).Select(p => p.Done).Order());
        Assert.All(seen, p => Assert.Equal(8, p.Total));
    }

    [Theory]
    [InlineData("{", "results.json: line 1: bad JSON (not a results file?)")]
    [InlineData("{\"schema\": \"other\"}", "results.json: schema: is not \"virtbench-results\": not a virtbench results file")]
    [InlineData("{\"schema\": \"virtbench-results\", \"schemaVersion\": 9}", "results.json: schemaVersion: 9 is not supported (this virtbench reads version 1)")]
    public void BadResultFilesAreRefusedInOneLine(string json, string expected)
    {
        var error = Assert.Throws<ResultsException>(() => ResultsReader.Parse(json, "results.json"));
        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void AnUnknownEventInSavedCountsIsNamed()
    {
        string json = ResultsWriter.ToJson(SuitePricer.Apply(SuiteFixture.Run([FakeEngine.Native()]), Modern))
            .Replace("\"TlbMiss\":", "\"TlbMist\":");
        var error = Assert.Throws<ResultsException>(() => ResultsReader.Parse(json, "r.json"));
        Assert.Equal("r.json: results[0].counts.events.TlbMist: unknown event (written by a newer virtbench?)", error.Message);
    }

    [Fact]
    public void AMissingResultsFileIsNamed()
    {
        var error = Assert.Throws<ResultsException>(() => ResultsReader.Load("/nonexistent/results.json"));
        Assert.Equal("/nonexistent/results.json: file not found", error.Message);
    }
}
