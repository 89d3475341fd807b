using ScottPlot;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.Charts;

/// <summary>One engine's host speed: guest instructions retired per host second, and where the figure comes from.</summary>
/// <param name="Engine">The engine.</param>
/// <param name="GuestInstructionsPerSecond">Guest instructions per host wall-clock second.</param>
/// <param name="Basis">How it was measured (e.g. "one timed run per pair" or "BenchmarkDotNet").</param>
public sealed record HostSpeedSample(string Engine, double GuestInstructionsPerSecond, string Basis)
{
    /// <summary>From the suite's own timings: all guest instructions of an engine over all its host seconds.</summary>
    public static IReadOnlyList<HostSpeedSample> FromResults(SuiteResults results) =>
        results.Engines
            .Select(e => results.Results.Where(r => r.Engine == e.Name && r.HostSeconds > 0).ToList())
            .Where(rs => rs.Count > 0)
            .Select(rs => new HostSpeedSample(rs[0].Engine,
                rs.Sum(r => (double)r.TotalGuestInstructions) / rs.Sum(r => r.HostSeconds),
                "one timed run per engine and workload, boot included (not a benchmark: run virtbench bench)"))
            .ToList();

    /// <summary>
    /// From BenchmarkDotNet's measurements: per engine, the extra guest instructions of the 2N-iteration runs over
    /// the N-iteration runs divided by their extra host time, summed over the workloads benchmarked (boot excluded).
    /// </summary>
    public static IReadOnlyList<HostSpeedSample> FromBench(BenchResults bench, IReadOnlyList<string> engineOrder) =>
        bench.Engines
            .Where(c => c.Timing.GuestInstructionsPerSecond is not null)
            .GroupBy(c => c.Engine)
            .OrderBy(g => engineOrder.ToList().IndexOf(g.Key) is var i and >= 0 ? i : int.MaxValue)
            .Select(g => new HostSpeedSample(g.Key,
                g.Sum(c => (double)(c.Timing.Large.GuestInstructions - c.Timing.Small.GuestInstructions))
                / g.Sum(c => c.Timing.Large.HostSeconds - c.Timing.Small.HostSeconds),
                $"BenchmarkDotNet means, boot excluded (runs of N and 2N iterations), workloads {string.Join(", ", g.Select(c => c.Workload).Distinct())}"))
            .ToList();

    /// <summary>The bench's samples when it measured any engine, else the suite's own timings.</summary>
    public static IReadOnlyList<HostSpeedSample> Best(SuiteResults results, HostMeasurements measured) =>
        measured.Bench is { } bench && FromBench(bench, results.Engines.Select(e => e.Name).ToList()) is { Count: > 0 } benched
            ? benched
            : FromResults(results);
}

/// <summary>How fast each engine simulates on this host (measured host time, not modeled cycles).</summary>
internal static class HostSpeedChart
{
    public static ChartImage Render(SuiteResults results, IReadOnlyList<HostSpeedSample> samples)
    {
        var plot = ChartKit.NewPlot("Simulator speed per engine (measured on this host)",
            "engine", "guest instructions per host second (millions)");
        var names = results.Engines.Select(e => e.Name).ToList();
        var bars = samples.Select((s, i) => new Bar
        {
            Position = i,
            Value = s.GuestInstructionsPerSecond / 1e6,
            FillColor = ChartKit.EngineColor(Math.Max(0, names.IndexOf(s.Engine))),
            Label = ChartKit.Number(s.GuestInstructionsPerSecond / 1e6),
            Size = 0.7,
        }).ToList();
        plot.Add.Bars(bars).ValueLabelStyle.FontSize = 12;
        ChartKit.CategoryTicks(plot, samples.Select((s, i) => ((double)i, s.Engine)).ToList(), 70);
        plot.Axes.SetLimitsX(-0.7, Math.Max(samples.Count, 1) - 0.3);
        plot.Axes.Margins(bottom: 0, top: 0.15);
        string basis = string.Join("; ", samples.Select(s => s.Basis).Distinct());
        return ChartKit.Render(plot, "host-speed.png", "Simulator speed per engine",
            $"Guest instructions retired per second of host wall-clock time: how fast this simulator runs each technique " +
            $"on this host, which says nothing about the technique's cost on real hardware. Basis: {basis}.",
            ChartKit.WidthFor(samples.Count * 3));
    }
}
