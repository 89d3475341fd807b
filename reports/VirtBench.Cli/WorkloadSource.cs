using VirtBench.Reports.Suite;
using VirtBench.Workloads;

namespace VirtBench.Cli;

/// <summary>
/// Where the CLI gets its workloads: the one place that connects the guest's workload catalog to the suite.
/// </summary>
internal static class WorkloadSource
{
    /// <summary>Every workload, in report order.</summary>
    public static IReadOnlyList<WorkloadSpec> All { get; } = WorkloadCatalog.All
        .Select(w => new WorkloadSpec(w.Name, w.Description, w.DefaultIterations,
            (flavor, iterations) => ImageBuilder.Build(w, flavor, iterations)))
        .ToList();
}
