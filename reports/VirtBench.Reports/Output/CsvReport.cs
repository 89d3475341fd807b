using System.Text;
using VirtBench.Reports.Charts;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Results;

namespace VirtBench.Reports;

/// <summary>results.csv: one row per engine and workload, priced figures per operation (modeled) and host time (measured).</summary>
internal static class CsvReport
{
    public static string Render(SuiteResults results)
    {
        var csv = new StringBuilder();
        var header = new List<string>
        {
            "engine", "workload", "status", "message", "iterations", "ops", "profile", "modeledCyclesPerOp", "overheadVsNative",
            "guestInstructions", "guestInstructionsPerOp", "vmmEntriesPerOp", "hostSeconds", "outputChecksum",
        };
        header.AddRange(CycleBreakdown.Categories.Select(c => $"modeledCyclesPerOp.{c}"));
        csv.AppendLine(string.Join(",", header));
        foreach (var r in results.Results)
        {
            var cells = new List<string>
            {
                r.Engine, r.Workload, r.Status.ToString().ToLowerInvariant(), r.Message, r.Iterations.ToString(), r.Ops.ToString(),
                results.Profile?.Name ?? "",
                r.Priced is { } p ? Format.Exact(p.CyclesPerOp) : "",
                r.Priced?.OverheadVsNative is double o ? Format.Exact(o) : "",
                r.GuestInstructions.ToString(),
                r.Ops > 0 ? Format.Exact((double)r.GuestInstructions / r.Ops) : "",
                VmmEntriesChart.PerOperation(r) is var v && !double.IsNaN(v) ? Format.Exact(v) : "",
                Format.Exact(r.HostSeconds),
                r.OutputChecksum,
            };
            cells.AddRange(CycleBreakdown.Categories.Select(c => r.Priced is { } p ? Format.Exact(p.ByCategoryPerOp[c]) : ""));
            csv.AppendLine(string.Join(",", cells.Select(Escape)));
        }
        return csv.ToString();
    }

    private static string Escape(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;
}
