using VirtBench.Machine;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;
using VirtBench.Testing;

namespace VirtBench.Cli.Tests;

public sealed class CommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void RunWritesTheWholeReportAndShowsProgress()
    {
        string dir = _temp.File("report");
        var r = Cli.Run("run", "--out", dir, "--jobs", "2");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Error);
        foreach (var file in new[] { "index.html", "results.json", "results.csv", "summary.md", "charts/overhead.png", "charts/host-speed.png" })
            Assert.True(File.Exists(Path.Combine(dir, file)), file);
        Assert.Contains("virtbench: 4 engines x 2 workloads, 2 at a time, profile modern", r.Output);
        Assert.Contains("[8/8] ", r.Output);
        Assert.Equal(8, r.Output.Split('\n').Count(l => l.StartsWith('[') && l.Contains(" x ")));
        Assert.Contains("| syscall | 229 |", r.Output);
        Assert.Contains($"Report: {Path.Combine(dir, "index.html")}", r.Output);
    }

    [Fact]
    public void RunOptionsReachTheResults()
    {
        string dir = _temp.File("r");
        var r = Cli.Run("run", "-o", dir, "--engines", "native,hw-shadow", "--workloads", "syscall", "--profile", "pentium4-2006",
            "--scale", "0.5", "--tlb", "128", "--budget", "5000000", "-j", "1");
        Assert.Equal(0, r.ExitCode);
        var results = ResultsReader.Load(Path.Combine(dir, "results.json"));
        Assert.Equal(["native", "hw-shadow"], results.Parameters.Engines);
        Assert.Equal(["syscall"], results.Parameters.Workloads);
        Assert.Equal(0.5, results.Parameters.IterationScale);
        Assert.Equal(128, results.Parameters.TlbEntries);
        Assert.Equal(5_000_000UL, results.Parameters.InstructionBudget);
        Assert.Equal(1, results.Parameters.Jobs);
        Assert.Equal("pentium4-2006", results.Profile!.Name);
        Assert.Equal(50u, results.Results[0].Ops);
    }

    [Fact]
    public void AdaptiveTranslationCanBeTurnedOff()
    {
        string dir = _temp.File("off");
        Assert.Equal(0, Cli.Run("run", "-o", dir, "--workloads", "syscall", "--no-adaptive-translation").ExitCode);
        Assert.False(ResultsReader.Load(Path.Combine(dir, "results.json")).Parameters.AdaptiveTranslation);
        string on = _temp.File("on");
        Assert.Equal(0, Cli.Run("run", "-o", on, "--workloads", "syscall").ExitCode);
        Assert.True(ResultsReader.Load(Path.Combine(on, "results.json")).Parameters.AdaptiveTranslation);
    }

    [Fact]
    public void ReportRepricesSavedResults()
    {
        string first = _temp.File("modern");
        Assert.Equal(0, Cli.Run("run", "-o", first).ExitCode);
        string second = _temp.File("p4");
        var r = Cli.Run("report", Path.Combine(first, "results.json"), "--profile", "pentium4-2006", "--out", second);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Error);
        var repriced = ResultsReader.Load(Path.Combine(second, "results.json"));
        Assert.Equal("pentium4-2006", repriced.Profile!.Name);
        // Pentium 4, native syscall per op: 50 simple instructions, int 1, iret 120, delivery 120, two walk references at 27.
        Assert.Equal(50 + 1 + 120 + 120 + 54, repriced.Results[0].Priced!.CyclesPerOp);
        Assert.True(File.Exists(Path.Combine(second, "index.html")));
        Assert.Contains("| syscall | 345 |", r.Output);
    }

    [Fact]
    public void ReportWithoutProfileUsesTheStoredOne()
    {
        string first = _temp.File("a");
        Assert.Equal(0, Cli.Run("run", "-o", first, "-p", "core2-2008").ExitCode);
        string second = _temp.File("b");
        Assert.Equal(0, Cli.Run("report", Path.Combine(first, "results.json"), "-o", second).ExitCode);
        Assert.Equal(File.ReadAllText(Path.Combine(first, "results.csv")), File.ReadAllText(Path.Combine(second, "results.csv")));
    }

    [Fact]
    public void ListNamesEnginesWorkloadsAndProfiles()
    {
        var r = Cli.Run("list");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Engines (--engines):", r.Output);
        Assert.Contains("  hw-shadow        [native kernel] fake engine 'hw-shadow' for tests", r.Output);
        Assert.Contains("  paravirt         [paravirtual kernel]", r.Output);
        Assert.Contains("  forkwait  [40 iterations] fork, child exits, parent waits", r.Output);
        foreach (var p in ProfileCatalog.Shipped) Assert.Contains($"  {p.Name}", r.Output);
        Assert.Contains("modern (default)", r.Output);
    }

    [Fact]
    public void ImageWritesTheWorkloadsImage()
    {
        string file = _temp.File("syscall.bin");
        var r = Cli.Run("image", "syscall", "--flavor", "paravirtual", "--iterations", "7", "-o", file);
        Assert.Equal(0, r.ExitCode);
        var expected = FakeWorkloads.Image("syscall", KernelFlavor.Paravirtual, 7);
        Assert.Equal(expected.Bytes, File.ReadAllBytes(file));
        Assert.Contains($"wrote {file}: syscall, paravirtual kernel, 7 iterations", r.Output);

        Assert.Equal(0, Cli.Run("image", "forkwait", "-o", file).ExitCode);
        Assert.Equal(FakeWorkloads.Image("forkwait", KernelFlavor.Native, 40).Bytes, File.ReadAllBytes(file));
    }

    [Fact]
    public void HelpIsPrintedWithoutError()
    {
        var r = Cli.Run("run", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--profile", r.Output);
        Assert.Contains("--engines", r.Output);
    }
}
