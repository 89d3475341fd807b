using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.RegularExpressions;
using SkiaSharp;
using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;
using VirtBench.Testing;

namespace VirtBench.Reports.Tests;

/// <summary>A small fake run, written once into a temporary report folder.</summary>
public sealed class ReportFolder : IDisposable
{
    public ReportFolder()
    {
        var holey = new FakeEngine("trap-emulate", KernelFlavor.Native, c => c.Add(Event.TrapPrivilegedInstruction))
        {
            OutputOverride = "syscall: 0 ops\n",
            Holes = [new VirtualizationHole(0x0010_1234, "irq_save+0x1", "pushfd", "IF=1 (the real flag)", "IF=0 (the virtual flag)", 1234)],
        };
        IReadOnlyList<IEngine> engines = [.. SuiteFixture.Engines, holey];
        Results = SuitePricer.Apply(SuiteFixture.Run(engines), ProfileCatalog.Load("pentium4-2006"));
        Directory = System.IO.Directory.CreateTempSubdirectory("virtbench-report-").FullName;
        Files = ReportWriter.Write(Results, Directory);
    }

    public SuiteResults Results { get; }
    public string Directory { get; }
    public ReportFiles Files { get; }
    public string Html => File.ReadAllText(Path.Combine(Directory, "index.html"));

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

public sealed class ReportTests(ReportFolder report) : IClassFixture<ReportFolder>
{
    [Fact]
    public void ASmallRunWritesEveryFile()
    {
        string[] expected =
        [
            "index.html", "results.json", "results.csv", "summary.md",
            "charts/overhead.png", "charts/breakdown-syscall.png", "charts/breakdown-forkwait.png",
            "charts/vmm-entries.png", "charts/exit-sensitivity.png", "charts/host-speed.png",
        ];
        foreach (var file in expected)
        {
            var info = new FileInfo(Path.Combine(report.Directory, file));
            Assert.True(info.Exists && info.Length > 0, $"{file} is missing or empty");
        }
        Assert.Equal(expected.Order(), report.Files.Files.Select(f => Path.GetRelativePath(report.Directory, f)).Order());
    }

    [Fact]
    public void EveryPngIsAValidImageOfTheStatedSize()
    {
        Assert.Equal(6, report.Files.Charts.Count);
        foreach (var chart in report.Files.Charts)
        {
            byte[] png = File.ReadAllBytes(Path.Combine(report.Directory, ReportWriter.ChartsFolder, chart.FileName));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
            Assert.Equal(chart.Width, (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)));
            Assert.Equal(chart.Height, (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20)));
            using var bitmap = SKBitmap.Decode(png);
            Assert.NotNull(bitmap);
            Assert.Equal((chart.Width, chart.Height), (bitmap.Width, bitmap.Height));
            Assert.True(DistinctColors(bitmap) > 4, $"{chart.FileName} looks blank");
        }
    }

    [Fact]
    public void IndexHtmlReferencesOnlyEmbeddedData()
    {
        string html = report.Html;
        var references = Regex.Matches(html, @"(?:src|href|srcset|action|poster|data)\s*=\s*""([^""]*)""", RegexOptions.IgnoreCase)
            .Select(m => m.Groups[1].Value)
            .Concat(Regex.Matches(html, @"url\(\s*['""]?([^'"")]*)", RegexOptions.IgnoreCase).Select(m => m.Groups[1].Value))
            .ToList();
        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.True(r.StartsWith("data:image/png;base64,") || r.StartsWith('#'), $"external reference: {r[..Math.Min(60, r.Length)]}"));
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(report.Files.Charts.Count, Regex.Matches(html, "src=\"data:image/png;base64,").Count);
    }

    [Fact]
    public void IndexHtmlShowsHolesSourcesAndLabels()
    {
        string html = report.Html;
        Assert.Contains("<h2 id=\"holes\">Virtualization holes</h2>", html);
        Assert.Contains("<code>pushfd</code>", html);
        Assert.Contains("irq_save+0x1", html);
        Assert.Contains("IF=0 (the virtual flag)", html);
        Assert.Contains("<span class=\"diverged\">diverged</span>", html);
        // Per engine: the verdict, a row per workload, a row per hole site with the workloads it happened in.
        Assert.Matches("<h3>trap-emulate</h3><p><b>1 sensitive instruction passed over, [0-9,]+ times, in [0-9]+ of [0-9]+ workloads.</b>", html);
        Assert.Contains("syscall (1,234)", html);
        Assert.Contains("modeled</span>", html);
        Assert.Contains("measured on this host", html);
        // Every profile figure appears with its source.
        foreach (var (e, cost) in report.Results.Profile!.Events)
            Assert.Contains($"<td>{e}</td>", html);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(report.Results.Profile[Event.VmEntry].Source), html);
        Assert.Contains("fake engine &#39;hw-shadow&#39; for tests", html);
        Assert.Contains("fork, child exits, parent waits", html);
    }

    [Fact]
    public void CsvHasAHeaderAndOneRowPerPair()
    {
        var lines = File.ReadAllLines(Path.Combine(report.Directory, "results.csv"));
        Assert.Equal(1 + report.Results.Results.Count, lines.Length);
        Assert.StartsWith("engine,workload,status,message,iterations,ops,profile,modeledCyclesPerOp,overheadVsNative,", lines[0]);
        var native = lines.Single(l => l.StartsWith("native,syscall,"));
        Assert.Contains(",ok,,100,100,pentium4-2006,", native);
    }

    [Fact]
    public void SummaryListsOverheadsAndProblems()
    {
        string md = File.ReadAllText(Path.Combine(report.Directory, "summary.md"));
        Assert.Contains("| workload | native cycles/op | trap-emulate-pg | hw-shadow | paravirt | trap-emulate |", md);
        Assert.Contains("- **trap-emulate x syscall**: diverged: UART output differs from native's", md);
        Assert.Contains("**trap-emulate** (output versus native: ", md);
        Assert.Contains("- `pushfd` at irq_save+0x1: saw IF=1 (the real flag); should have seen IF=0 (the virtual flag). In syscall x1234", md);
    }

    [Fact]
    public void TheSavedJsonIsTheResults()
    {
        var back = ResultsReader.Load(Path.Combine(report.Directory, "results.json"));
        Assert.Equal(ResultsWriter.ToJson(report.Results), ResultsWriter.ToJson(SuitePricer.Apply(back, report.Results.Profile!)));
    }

    [SkippableFact]
    public void IndexHtmlLoadsInHeadlessChromiumWithoutErrors()
    {
        const string chromium = "/usr/bin/chromium";
        Skip.IfNot(File.Exists(chromium), "Chromium is not installed (apt-get install chromium)");
        string profile = System.IO.Directory.CreateTempSubdirectory("virtbench-chromium-").FullName;
        string screenshot = Path.Combine(profile, "shot.png");
        try
        {
            var psi = new ProcessStartInfo(chromium) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in new[]
                     {
                         "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         $"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1280,2400",
                         $"--screenshot={screenshot}", new Uri(Path.Combine(report.Directory, "index.html")).AbsoluteUri,
                     })
                psi.ArgumentList.Add(arg);
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(90)), "Chromium did not finish within 90 s");
            string log = stderr.Result + stdout.Result;
            var consoleErrors = log.Split('\n').Where(l => l.Contains("CONSOLE", StringComparison.Ordinal)
                                                           || l.Contains("Failed to load", StringComparison.OrdinalIgnoreCase)
                                                           || l.Contains("net::ERR", StringComparison.Ordinal)).ToList();
            Assert.True(consoleErrors.Count == 0, string.Join("\n", consoleErrors));
            Assert.True(File.Exists(screenshot), $"no screenshot; Chromium said:\n{log}");
            using var bitmap = SKBitmap.Decode(screenshot);
            Assert.True(DistinctColors(bitmap) > 50, "the screenshot is blank");
        }
        finally
        {
            System.IO.Directory.Delete(profile, recursive: true);
        }
    }

    private static int DistinctColors(SKBitmap bitmap)
    {
        var colors = new HashSet<uint>();
        for (int y = 0; y < bitmap.Height; y += 7)
            for (int x = 0; x < bitmap.Width; x += 7)
                colors.Add((uint)bitmap.GetPixel(x, y));
        return colors.Count;
    }
}
