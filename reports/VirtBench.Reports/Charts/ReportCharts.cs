using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.Charts;

/// <summary>Every chart of a report, in the order the HTML shows them.</summary>
public static class ReportCharts
{
    /// <summary>
    /// Renders all charts for priced results (<see cref="SuiteResults.Profile"/> must be set); the host-speed charts use
    /// <paramref name="measured"/> (BenchmarkDotNet and QEMU) when present.
    /// </summary>
    public static IReadOnlyList<ChartImage> Render(SuiteResults results, HostMeasurements measured)
    {
        var profile = results.Profile ?? throw new ArgumentException("results must be priced before charting", nameof(results));
        var charts = new List<ChartImage> { OverheadChart.Render(results) };
        charts.AddRange(results.Workloads.Select(w => BreakdownChart.Render(results, w.Name)));
        charts.Add(VmmEntriesChart.Render(results));
        charts.Add(ExitCostSensitivityChart.Render(results, profile));
        charts.Add(HostSpeedChart.Render(results, HostSpeedSample.Best(results, measured)));
        if (measured.Peers is { } peers) charts.Add(PeersChart.Render(results, peers, measured.Bench));
        return charts;
    }
}
