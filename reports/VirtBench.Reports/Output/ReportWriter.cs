using System.Text;
using VirtBench.Reports.Charts;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Results;

namespace VirtBench.Reports;

/// <summary>What a report folder holds: its path, the charts (with their pixel sizes) and every file written.</summary>
public sealed record ReportFiles(string Directory, IReadOnlyList<ChartImage> Charts, IReadOnlyList<string> Files);

/// <summary>
/// Writes a report folder from priced results: index.html, results.json, results.csv, summary.md,
/// charts/*.png, and the host-speed measurements it shows (bench.json, peers.json).
/// The same call serves a fresh run and <c>virtbench report</c> on saved results.
/// </summary>
public static class ReportWriter
{
    /// <summary>Folder, inside the report folder, that holds the PNG charts.</summary>
    public const string ChartsFolder = "charts";

    /// <summary>
    /// Writes the report. <paramref name="measured"/> (bench.json, peers.json) feeds the host-speed chart, the QEMU
    /// comparison and their tables, and is written into the folder too; without it the suite's own timings are used.
    /// </summary>
    public static ReportFiles Write(SuiteResults results, string directory, HostMeasurements? measured = null)
    {
        if (results.Profile is null) throw new ArgumentException("results must be priced before reporting", nameof(results));
        measured ??= HostMeasurements.None;
        var charts = ReportCharts.Render(results, measured);
        Directory.CreateDirectory(Path.Combine(directory, ChartsFolder));
        var files = new List<string>();
        void Save(string name, string text)
        {
            string path = Path.Combine(directory, name);
            File.WriteAllText(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            files.Add(path);
        }
        foreach (var chart in charts)
        {
            string path = Path.Combine(directory, ChartsFolder, chart.FileName);
            File.WriteAllBytes(path, chart.Png);
            files.Add(path);
        }
        Save("results.json", ResultsWriter.ToJson(results));
        Save("results.csv", CsvReport.Render(results));
        Save("summary.md", MarkdownSummary.Render(results));
        Save("index.html", HtmlReport.Render(results, charts, measured));
        files.AddRange(measured.SaveTo(directory));
        return new ReportFiles(directory, charts, files);
    }
}
