using VirtBench.Reports;
using VirtBench.Reports.Results;

namespace VirtBench.Cli;

/// <summary>Writes a priced report folder and tells the user what is where (shared by run and report).</summary>
internal static class ReportOutput
{
    public static ReportFiles Write(SuiteResults priced, string directory, TextWriter output)
    {
        // Charts of an earlier report in the same folder (other workloads) would otherwise linger.
        string charts = Path.Combine(directory, ReportWriter.ChartsFolder);
        if (Directory.Exists(charts))
            foreach (var png in Directory.EnumerateFiles(charts, "*.png")) File.Delete(png);
        var files = ReportWriter.Write(priced, directory);
        output.WriteLine();
        output.WriteLine($"Overhead versus native (modeled, profile {priced.Profile!.Name}):");
        output.Write(MarkdownSummary.OverheadTable(priced));
        int notOk = priced.Results.Count(r => r.Status != RunStatus.Ok);
        if (notOk > 0)
            output.WriteLine($"{notOk} of {priced.Results.Count} runs are not ok (diverged, budget or fault): see summary.md or the report.");
        output.WriteLine($"Report: {Path.Combine(directory, "index.html")} " +
                         $"(also results.json, results.csv, summary.md, {files.Charts.Count} charts in {charts})");
        return files;
    }
}
