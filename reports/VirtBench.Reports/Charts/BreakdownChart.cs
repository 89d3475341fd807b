using ScottPlot;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.Charts;

/// <summary>For one workload: each engine's modeled cycles per operation, stacked by event category.</summary>
internal static class BreakdownChart
{
    public static ChartImage Render(SuiteResults results, string workload)
    {
        var priced = results.Engines
            .Select(e => (Engine: e.Name, Priced: results.Find(e.Name, workload)?.Priced))
            .Where(x => x.Priced is not null).ToList();
        var plot = ChartKit.NewPlot($"{workload}: where the cycles go (modeled, profile {results.Profile?.Name})",
            "engine", "modeled cycles per operation");
        var used = CycleBreakdown.Categories.Where(c => priced.Any(p => p.Priced!.ByCategoryPerOp[c] > 0)).ToList();
        var bars = new List<Bar>();
        for (int i = 0; i < priced.Count; i++)
        {
            double bottom = 0;
            foreach (var category in used)
            {
                double cycles = priced[i].Priced!.ByCategoryPerOp[category];
                if (cycles <= 0) continue;
                bars.Add(new Bar { Position = i, ValueBase = bottom, Value = bottom + cycles, FillColor = ChartKit.CategoryColor(category), Size = 0.7 });
                bottom += cycles;
            }
        }
        plot.Add.Bars(bars);
        foreach (var category in used.AsEnumerable().Reverse()) ChartKit.LegendEntry(plot, CategoryNames.Of(category), ChartKit.CategoryColor(category));
        ChartKit.CategoryTicks(plot, priced.Select((p, i) => ((double)i, p.Engine)).ToList(), 70);
        plot.Axes.SetLimitsX(-0.7, Math.Max(priced.Count, 1) - 0.3);
        plot.Axes.Margins(bottom: 0);
        return ChartKit.Render(plot, $"breakdown-{FileNames.Safe(workload)}.png", $"Cycles per operation by cause: {workload}",
            $"Modeled cycles per operation of {workload} under each engine, stacked by event category (linear scale).",
            ChartKit.WidthFor(priced.Count * 3));
    }
}
