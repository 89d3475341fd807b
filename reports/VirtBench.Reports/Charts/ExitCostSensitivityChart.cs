using VirtBench.Machine;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.Charts;

/// <summary>
/// Re-prices the same counts while the hardware VM exit + entry round trip varies, to show how each
/// technique's overhead depends on it (the question of Adams &amp; Agesen and of every VT-x generation since).
/// </summary>
internal static class ExitCostSensitivityChart
{
    /// <summary>Round-trip costs (cycles) the chart re-prices at.</summary>
    public static IReadOnlyList<double> RoundTrips(CostProfile profile)
    {
        double max = Math.Max(4000, 2 * RoundTrip(profile));
        return Enumerable.Range(0, 41).Select(i => 50 + i * (max - 50) / 40).ToList();
    }

    /// <summary>The profile's own round trip: exit on vmcall plus VM entry.</summary>
    public static double RoundTrip(CostProfile profile) => profile[Event.ExitVmcall].Cycles + profile[Event.VmEntry].Cycles;

    /// <summary>The profile with every VM exit and the VM entry scaled so that vmcall exit + entry = <paramref name="roundTrip"/>.</summary>
    public static CostProfile WithRoundTrip(CostProfile profile, double roundTrip)
    {
        double factor = roundTrip / RoundTrip(profile);
        var scaled = EventInfo.All
            .Where(e => EventInfo.CategoryOf(e) == EventCategory.VmExits || e == Event.VmEntry)
            .Select(e => (e, new CostEntry(profile[e].Cycles * factor, $"derived: {profile[e].Source}, scaled x{factor:0.###} for the exit-cost sensitivity")));
        return profile.WithEvents(scaled, $"@{roundTrip:0}");
    }

    /// <summary>Geometric mean over workloads of an engine's overhead versus native, under a profile (NaN when none).</summary>
    public static double MeanOverhead(SuiteResults results, string engine, CostProfile profile)
    {
        double logSum = 0;
        int n = 0;
        foreach (var w in results.Workloads)
        {
            var native = results.Find(SuiteResults.BaselineEngine, w.Name);
            var r = results.Find(engine, w.Name);
            if (native is not { Status: RunStatus.Ok } || r is not { Status: RunStatus.Ok or RunStatus.Diverged }) continue;
            if (SuitePricer.PricePerOperation(native, profile) is not { Total: > 0 } n0) continue;
            if (SuitePricer.PricePerOperation(r, profile) is not { Total: > 0 } e0) continue;
            logSum += Math.Log(e0.Total / n0.Total);
            n++;
        }
        return n == 0 ? double.NaN : Math.Exp(logSum / n);
    }

    public static ChartImage Render(SuiteResults results, CostProfile profile)
    {
        var xs = RoundTrips(profile);
        var profiles = xs.Select(x => WithRoundTrip(profile, x)).ToList();
        var plot = ChartKit.NewPlot($"Sensitivity of overhead to the VM exit cost (modeled, profile {profile.Name})",
            "hardware VM exit + entry round trip (cycles)", "geometric-mean overhead versus native (x, log scale)");
        var all = new List<double> { 1 };
        foreach (var (engine, index) in results.Engines.Select((e, i) => (e.Name, i)).Where(e => e.Name != SuiteResults.BaselineEngine))
        {
            var ys = profiles.Select(p => MeanOverhead(results, engine, p)).ToArray();
            if (ys.All(double.IsNaN)) continue;
            all.AddRange(ys.Where(y => !double.IsNaN(y)));
            var line = plot.Add.ScatterLine(xs.ToArray(), ys.Select(y => double.IsNaN(y) ? double.NaN : Math.Log10(y)).ToArray(), ChartKit.EngineColor(index));
            line.LegendText = engine;
            line.LineWidth = 2;
        }
        var now = plot.Add.VerticalLine(RoundTrip(profile), 1.5f, ScottPlot.Colors.Gray, ScottPlot.LinePattern.Dashed);
        now.LegendText = $"{profile.Name}: {RoundTrip(profile):0} cycles";
        ChartKit.LogLeftAxis(plot, all.Min(), all.Max(), v => ChartKit.Number(v) + "x");
        plot.Grid.XAxisStyle.IsVisible = true;
        plot.Grid.YAxisStyle.IsVisible = true;
        return ChartKit.Render(plot, "exit-sensitivity.png", "Sensitivity to the VM exit cost",
            "The same counts re-priced while every VM exit and the VM entry are scaled together so that an exit on vmcall plus " +
            "the entry costs the value on the x axis; everything else keeps the profile's price. Engines without exits stay flat. " +
            "Each point is the geometric mean over workloads of the modeled overhead versus native.",
            900);
    }
}
