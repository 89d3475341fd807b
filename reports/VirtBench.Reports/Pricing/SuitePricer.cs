using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.Pricing;

/// <summary>
/// Prices every pair of a suite's results with one profile. A fresh run and saved results re-priced later go
/// through this same function on the same counts, so they give identical figures.
/// </summary>
public static class SuitePricer
{
    /// <summary>The results with <see cref="PairResult.Priced"/> and <see cref="SuiteResults.Profile"/> set for <paramref name="profile"/>.</summary>
    public static SuiteResults Apply(SuiteResults results, CostProfile profile)
    {
        var perOp = results.Results.Select(r => PricePerOperation(r, profile)).ToList();
        var baseline = new Dictionary<string, double>();
        for (int i = 0; i < results.Results.Count; i++)
        {
            var r = results.Results[i];
            if (r.Engine == SuiteResults.BaselineEngine && r.Status == RunStatus.Ok && perOp[i] is { Total: > 0 } native)
                baseline[r.Workload] = native.Total;
        }
        var priced = results.Results.Select((r, i) => r with
        {
            Priced = perOp[i] is { } breakdown
                ? new PricedFigures(breakdown.Total, breakdown,
                    r.Status is RunStatus.Ok or RunStatus.Diverged && baseline.TryGetValue(r.Workload, out double native)
                        ? breakdown.Total / native : null)
                : null,
        }).ToList();
        return results with { Results = priced, Profile = profile };
    }

    /// <summary>Modeled cycles per operation of one pair, or null when it has no measured region or no operations.</summary>
    public static CycleBreakdown? PricePerOperation(PairResult result, CostProfile profile) =>
        result.Measured is { } counts && result.Ops > 0 ? Pricer.Price(counts, profile).PerOperation(result.Ops) : null;
}
