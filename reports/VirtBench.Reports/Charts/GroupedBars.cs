using ScottPlot;

namespace VirtBench.Reports.Charts;

/// <summary>
/// Bars grouped by category (a workload) with one bar per series (an engine) in each group, the layout of
/// the overhead and VMM-entry charts. Missing values (NaN) leave a gap.
/// </summary>
internal static class GroupedBars
{
    /// <summary>One series: its legend name, color, and one value per group (NaN when absent).</summary>
    public sealed record Series(string Name, Color Color, IReadOnlyList<double> Values);

    /// <summary>Draws the bars (log10 of the values when <paramref name="log"/>) and labels the groups.</summary>
    public static Plot Draw(Plot plot, IReadOnlyList<string> groups, IReadOnlyList<Series> series, bool log)
    {
        int slots = series.Count + 1;
        for (int s = 0; s < series.Count; s++)
        {
            var bars = new List<Bar>();
            for (int g = 0; g < groups.Count; g++)
            {
                double v = series[s].Values[g];
                if (double.IsNaN(v) || (log && v <= 0)) continue;
                bars.Add(new Bar { Position = g * slots + s, Value = log ? Math.Log10(v) : v, FillColor = series[s].Color, LineWidth = 0, Size = 0.9 });
            }
            if (bars.Count == 0) continue;
            var plottable = plot.Add.Bars(bars);
            plottable.LegendText = series[s].Name;
            plottable.Color = series[s].Color;
        }
        ChartKit.CategoryTicks(plot, groups.Select((name, g) => (g * slots + (series.Count - 1) / 2.0, name)).ToList(), slots * ChartKit.PixelsPerSlot);
        plot.Axes.SetLimitsX(-1, Math.Max(1, groups.Count * slots - 1));
        return plot;
    }

    /// <summary>The image width for this many groups and series.</summary>
    public static int Width(int groups, int series) => ChartKit.WidthFor(groups * (series + 1));
}
