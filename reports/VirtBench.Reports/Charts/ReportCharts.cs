using VirtBench.Reports.Results;

namespace VirtBench.Reports.Charts;

/// <summary>Every chart of a report, in the order the HTML shows them.</summary>
public static class ReportCharts
{
    /// <summary>Renders all charts for priced results (<see cref="SuiteResults.Profile"/> must be set).</summary>
    public static IReadOnlyList<ChartImage> Render(SuiteResults results, IReadOnlyList<HostSpeedSample> hostSpeed)
    {
        var profile = results.Profile ?? throw new ArgumentException("results must be priced before charting", nameof(results));
        var charts = new List<ChartImage> { OverheadChart.Render(results) };
        charts.AddRange(results.Workloads.Select(w => BreakdownChart.Render(results, w.Name)));
        charts.Add(VmmEntriesChart.Render(results));
        charts.Add(ExitCostSensitivityChart.Render(results, profile));
        charts.Add(HostSpeedChart.Render(results, hostSpeed));
        return charts;
    }
}
