using VirtBench.Machine;
using VirtBench.Reports.Profiles;

namespace VirtBench.Reports.Pricing;

/// <summary>
/// The cost model (DESIGN.md section 7): modeled cycles = counts x costs. Every event is priced by the
/// profile's entry for it; every retired guest instruction by its mnemonic's entry (or the default), in
/// <see cref="EventCategory.GuestExecution"/>. VMM emulations are priced once, on
/// <see cref="Event.InstructionEmulated"/>; the per-mnemonic emulation counts are for the report only.
/// The summation order is fixed, so the same counts and profile always give the same doubles.
/// </summary>
public static class Pricer
{
    /// <summary>Prices a set of counts.</summary>
    public static CycleBreakdown Price(Counters counts, CostProfile profile)
    {
        var cycles = new double[CycleBreakdown.Categories.Count];
        foreach (var (e, n) in counts.EventCounts())
            cycles[(int)EventInfo.CategoryOf(e)] += n * profile[e].Cycles;
        foreach (var (_, mnemonic, n) in counts.InstructionCounts())
            cycles[(int)EventCategory.GuestExecution] += n * profile.CyclesOf(mnemonic);
        return new CycleBreakdown(cycles);
    }
}
