using VirtBench.Reports.Pricing;

namespace VirtBench.Reports.Results;

/// <summary>A pair's modeled figures under one profile (always labeled "modeled" in reports).</summary>
/// <param name="CyclesPerOp">Modeled cycles in the measured region divided by its operations.</param>
/// <param name="ByCategoryPerOp">The same, split by event category.</param>
/// <param name="OverheadVsNative">This engine's cycles per operation over native's for the workload, or null when native has no ok result.</param>
public sealed record PricedFigures(double CyclesPerOp, CycleBreakdown ByCategoryPerOp, double? OverheadVsNative);
