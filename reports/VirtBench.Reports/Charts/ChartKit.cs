using ScottPlot;
using VirtBench.Machine;

namespace VirtBench.Reports.Charts;

/// <summary>What every chart shares: colors, rotated category ticks, log axes, legends and rendering.</summary>
internal static class ChartKit
{
    /// <summary>Height of every chart in pixels.</summary>
    public const int Height = 560;

    private static readonly IPalette EnginePalette = new ScottPlot.Palettes.Category10();
    private static readonly IPalette CategoryPalette = new ScottPlot.Palettes.Category20();

    /// <summary>The color of the engine at this position in the report's engine list (stable across charts).</summary>
    public static Color EngineColor(int engineIndex) => EnginePalette.GetColor(engineIndex);

    /// <summary>The color of an event category (stable across charts).</summary>
    public static Color CategoryColor(EventCategory category)
    {
        // Category20 holds ten dark/light pairs: the dark shades first, then the light ones.
        int i = (int)category;
        return CategoryPalette.GetColor(i < 10 ? i * 2 : (i - 10) * 2 + 1);
    }

    /// <summary>An installed sans-serif family (DejaVu Sans or Liberation Sans on Debian), else ScottPlot's default.</summary>
    private static readonly string SansFont =
        new[] { "DejaVu Sans", "Liberation Sans", "Arial" }.FirstOrDefault(f => SkiaSharp.SKFontManager.Default.FontFamilies.Contains(f)) ?? Fonts.Default;

    /// <summary>A plot with a sans-serif font, a title and axis labels (the legend is placed when rendering).</summary>
    public static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set(SansFont);
        plot.Title(title, 16);
        plot.XLabel(xLabel, 13);
        plot.YLabel(yLabel, 13);
        return plot;
    }

    /// <summary>Pixels per bar position in grouped and single bar charts.</summary>
    public const int PixelsPerSlot = 11;

    /// <summary>Width that gives every bar room: <paramref name="slots"/> bar positions, plus axes and legend.</summary>
    public static int WidthFor(int slots) => Math.Clamp(380 + slots * PixelsPerSlot, 800, 3000);

    /// <summary>Labels category positions on the bottom axis, rotated when they would not fit side by side.</summary>
    public static void CategoryTicks(Plot plot, IReadOnlyList<(double Position, string Label)> ticks, double pixelsPerSlot)
    {
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            ticks.Select(t => t.Position).ToArray(), ticks.Select(t => t.Label).ToArray());
        int longest = ticks.Count == 0 ? 0 : ticks.Max(t => t.Label.Length);
        const double charWidth = 7.5;
        if (longest * charWidth > pixelsPerSlot * 0.9)
        {
            // Text rising to the right and ending at its tick, so long names never overlap.
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            plot.Axes.Bottom.MinimumSize = (float)(longest * charWidth * 0.6 + 24);
        }
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.HideGrid();
        plot.Grid.YAxisStyle.IsVisible = true;
    }

    /// <summary>
    /// Makes the left axis logarithmic over [<paramref name="min"/>, <paramref name="max"/>] (data values): the
    /// plotted values are log10 of the data, and ticks at 1-2-5 steps are labeled with data values (ScottPlot
    /// has no log scale of its own).
    /// </summary>
    public static void LogLeftAxis(Plot plot, double min, double max, Func<double, string> format)
    {
        min = Math.Max(min, 1e-9);
        max = Math.Max(max, min * 2);
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int power = (int)Math.Floor(Math.Log10(min)) - 1; power <= (int)Math.Ceiling(Math.Log10(max)) + 1; power++)
            foreach (double step in new[] { 1.0, 2.0, 5.0 })
            {
                double v = step * Math.Pow(10, power);
                if (v >= min / 1.3 && v <= max * 1.3) ticks.AddMajor(Math.Log10(v), format(v));
                else if (v > min / 10 && v < max * 10) ticks.AddMinor(Math.Log10(v));
            }
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.SetLimitsY(Math.Log10(min) - 0.15, Math.Log10(max) + 0.15);
    }

    /// <summary>Adds a legend entry that is not tied to a plottable (e.g. a stack color).</summary>
    public static void LegendEntry(Plot plot, string label, Color color) =>
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = label, FillColor = color });

    /// <summary>"1.5", "12", "1,234", "2.1M" style numbers for tick labels and tables.</summary>
    public static string Number(double value) => value switch
    {
        >= 10_000_000 => $"{value / 1e6:N0}M",
        >= 1_000_000 => $"{value / 1e6:0.#}M",
        >= 100 => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Renders the plot to PNG, with the legend outside the data area on the right when there is anything to list.</summary>
    public static ChartImage Render(Plot plot, string fileName, string title, string caption, int width, int height = Height)
    {
        // ScottPlot renders nothing at all when an outside legend panel has no items, so only show one with items.
        bool hasItems = plot.Legend.ManualItems.Count > 0
                        || plot.GetPlottables().Any(p => p.LegendItems.Any(i => !string.IsNullOrEmpty(i.LabelText)));
        if (hasItems) plot.ShowLegend(Edge.Right);
        if (!plot.GetPlottables().Any(p => p is not ScottPlot.Plottables.HorizontalLine and not ScottPlot.Plottables.VerticalLine))
            plot.Add.Annotation("no data for this chart in this run");
        return new(fileName, title, caption, plot.GetImageBytes(width, height, ImageFormat.Png), width, height);
    }
}
