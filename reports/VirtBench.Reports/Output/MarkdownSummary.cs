using System.Text;
using VirtBench.Reports.Results;

namespace VirtBench.Reports;

/// <summary>summary.md: the overhead table, the statuses that are not ok, and the holes, for a quick read or a commit message.</summary>
internal static class MarkdownSummary
{
    public static string Render(SuiteResults results)
    {
        var md = new StringBuilder();
        md.AppendLine("# VirtBench summary").AppendLine();
        md.AppendLine($"Profile **{results.Profile?.Name}** ({results.Profile?.Description}). All cycle figures are **modeled** " +
                      "(exact event counts x the profile's costs), not measured. Host seconds are measured wall-clock time of the simulator.")
          .AppendLine();
        md.AppendLine($"virtbench {results.ToolVersion}, {results.Created:yyyy-MM-dd HH:mm} UTC, iteration scale {results.Parameters.IterationScale}, " +
                      $"TLB {results.Parameters.TlbEntries} entries, host: {results.Host.ProcessorName} x{results.Host.ProcessorCount}, {results.Host.DotNet}.")
          .AppendLine();

        md.AppendLine("## Overhead versus native (modeled)").AppendLine();
        md.Append(OverheadTable(results)).AppendLine();

        var notOk = results.Results.Where(r => r.Status != RunStatus.Ok).ToList();
        md.AppendLine("## Runs that are not ok").AppendLine();
        if (notOk.Count == 0) md.AppendLine("None: every pair exited successfully with native's output.");
        foreach (var r in notOk) md.AppendLine($"- **{r.Engine} x {r.Workload}**: {r.Status.ToString().ToLowerInvariant()}: {r.Message}");
        md.AppendLine();

        md.AppendLine("## Virtualization holes").AppendLine();
        var holey = results.Results.Where(r => r.Holes.Count > 0).GroupBy(r => r.Engine).ToList();
        if (holey.Count == 0) md.AppendLine("No engine in this run passed over a virtualization hole.");
        foreach (var engine in holey)
        {
            var all = results.Results.Where(r => r.Engine == engine.Key).ToList();
            md.AppendLine($"**{engine.Key}** (output versus native: " +
                          string.Join(", ", all.GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{g.Key.ToString().ToLowerInvariant()} on {g.Count()}")) + "):").AppendLine();
            foreach (var site in engine.SelectMany(r => r.Holes.Select(h => (Pair: r, Hole: h))).GroupBy(x => (x.Hole.GuestAddress, x.Hole.Location, x.Hole.Instruction)).OrderBy(g => g.Key.GuestAddress))
                md.AppendLine($"- `{site.Key.Instruction}` at {site.Key.Location}: saw {site.First().Hole.GuestSaw}; should have seen {site.First().Hole.ShouldHaveSeen}. " +
                              "In " + string.Join(", ", site.Select(x => $"{x.Pair.Workload} x{x.Hole.Count}")) + ".");
            md.AppendLine();
        }
        md.AppendLine("Files: `index.html` (the full report), `results.json` (everything, schema in docs/results-schema.md), " +
                      "`results.csv`, `charts/*.png`.");
        return md.ToString();
    }

    /// <summary>The Markdown table of overheads: a row per workload, native's cycles per operation, then each engine's overhead or status.</summary>
    public static string OverheadTable(SuiteResults results)
    {
        var md = new StringBuilder();
        var others = results.Engines.Where(e => e.Name != SuiteResults.BaselineEngine).Select(e => e.Name).ToList();
        md.AppendLine($"| workload | native cycles/op | {string.Join(" | ", others)} |");
        md.AppendLine($"|---|---:|{string.Concat(others.Select(_ => "---:|"))}");
        foreach (var w in results.Workloads)
        {
            string native = results.Find(SuiteResults.BaselineEngine, w.Name)?.Priced is { } p ? Format.Cycles(p.CyclesPerOp) : "-";
            var cells = others.Select(e => results.Find(e, w.Name) is { } r ? Cell(r) : "-");
            md.AppendLine($"| {w.Name} | {native} | {string.Join(" | ", cells)} |");
        }
        return md.ToString();
    }

    private static string Cell(PairResult r) =>
        r.Status switch
        {
            RunStatus.Ok => Format.Overhead(r.Priced?.OverheadVsNative),
            RunStatus.Diverged => $"{Format.Overhead(r.Priced?.OverheadVsNative)} (diverged)",
            _ => r.Status.ToString().ToLowerInvariant(),
        };
}
