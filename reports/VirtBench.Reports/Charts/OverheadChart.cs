using VirtBench.Reports.Results;

namespace VirtBench.Reports.Charts;

/// <summary>Modeled overhead versus native of every technique on every workload, on a log axis.</summary>
internal static class OverheadChart
{
    public static ChartImage Render(SuiteResults results)
    {
        var engines = results.Engines.Select((e, i) => (e.Name, Index: i)).Where(e => e.Name != SuiteResults.BaselineEngine).ToList();
        var workloads = results.Workloads.Select(w => w.Name).ToList();
        var series = engines.Select(e => new GroupedBars.Series(e.Name, ChartKit.EngineColor(e.Index),
            workloads.Select(w => results.Find(e.Name, w)?.Priced?.OverheadVsNative ?? double.NaN).ToList())).ToList();

        var plot = ChartKit.NewPlot($"Overhead versus native (modeled, profile {results.Profile?.Name})",
            "workload", "overhead: modeled cycles per op / native's (x, log scale)");
        GroupedBars.Draw(plot, workloads, series, log: true);
        plot.Add.HorizontalLine(0, 1.5f, ScottPlot.Colors.Black, ScottPlot.LinePattern.Dashed).LegendText = "native (1x)";
        var values = series.SelectMany(x => x.Values).Where(v => v > 0).Append(1.0).ToList();
        ChartKit.LogLeftAxis(plot, values.Min(), values.Max(), v => ChartKit.Number(v) + "x");
        return ChartKit.Render(plot, "overhead.png", "Overhead per technique and workload",
            "Each bar is an engine's modeled cycles per operation divided by the native engine's on the same workload (log scale). " +
            "Missing bars: the pair did not finish with an ok or diverged status.",
            GroupedBars.Width(workloads.Count, series.Count));
    }
}
