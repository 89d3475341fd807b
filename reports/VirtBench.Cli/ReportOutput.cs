using VirtBench.Reports;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Results;

namespace VirtBench.Cli;

/// <summary>Writes a priced report folder and tells the user what is where (shared by run, report, bench and peers).</summary>
internal static class ReportOutput
{
    /// <summary>Writes the report with <paramref name="measured"/> host-speed data, then prints the overhead table and where the files are.</summary>
    public static ReportFiles Write(SuiteResults priced, string directory, HostMeasurements measured, TextWriter output)
    {
        var files = WriteFolder(priced, directory, measured);
        output.WriteLine();
        output.WriteLine($"Overhead versus native (modeled, profile {priced.Profile!.Name}):");
        output.Write(MarkdownSummary.OverheadTable(priced));
        int notOk = priced.Results.Count(r => r.Status != RunStatus.Ok);
        if (notOk > 0)
            output.WriteLine($"{notOk} of {priced.Results.Count} runs are not ok (diverged, budget or fault): see summary.md or the report.");
        output.WriteLine($"Report: {Path.Combine(directory, "index.html")} " +
                         $"(also results.json, results.csv, summary.md, {files.Charts.Count} charts in {Path.Combine(directory, ReportWriter.ChartsFolder)})");
        return files;
    }

    /// <summary>
    /// The host-speed measurements in a folder (bench.json, peers.json); an unreadable file is reported in one line
    /// and left out, since it must not cost the user the report.
    /// </summary>
    public static HostMeasurements Measurements(string directory, TextWriter output) =>
        HostMeasurements.Load(directory, problem => output.WriteLine($"virtbench: ignoring {problem}"));

    /// <summary>
    /// After bench or peers: redraws the report in <paramref name="directory"/> with the new measurements when the
    /// folder holds results, or says how to get a report that shows them.
    /// </summary>
    public static void Refresh(string directory, TextWriter output)
    {
        string results = Path.Combine(directory, "results.json");
        if (!File.Exists(results))
        {
            output.WriteLine($"No results.json in {directory}: `virtbench run --out {directory}` writes a report that shows these measurements.");
            return;
        }
        WriteFolder(ResultsReader.Load(results), directory, Measurements(directory, output));
        output.WriteLine($"Report updated: {Path.Combine(directory, "index.html")}");
    }

    private static ReportFiles WriteFolder(SuiteResults priced, string directory, HostMeasurements measured)
    {
        // Charts of an earlier report in the same folder (other workloads) would otherwise linger.
        string charts = Path.Combine(directory, ReportWriter.ChartsFolder);
        if (Directory.Exists(charts))
            foreach (var png in Directory.EnumerateFiles(charts, "*.png")) File.Delete(png);
        return ReportWriter.Write(priced, directory, measured);
    }
}
