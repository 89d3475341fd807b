using VirtBench.Reports.Suite;

namespace VirtBench.Cli;

/// <summary>
/// Where the CLI gets its workloads: the one place that connects the guest's workload catalog to the suite.
/// Until workloads/VirtBench.Workloads provides <c>WorkloadCatalog</c> and <c>ImageBuilder</c>, the list is empty;
/// wiring them in is this one expression:
/// <code>
/// WorkloadCatalog.All.Select(w => new WorkloadSpec(w.Name, w.Description, w.DefaultIterations,
///     (flavor, iterations) => ImageBuilder.Build(w, flavor, iterations))).ToList()
/// </code>
/// </summary>
internal static class WorkloadSource
{
    /// <summary>Every workload, in report order.</summary>
    public static IReadOnlyList<WorkloadSpec> All { get; } = [];
}
