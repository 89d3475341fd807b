using VirtBench.Machine;
using VirtBench.Reports.Profiles;

namespace VirtBench.Reports.Results;

/// <summary>Everything a suite run produced: the content of results.json (schema: docs/results-schema.md).</summary>
public sealed record SuiteResults
{
    /// <summary>The schema version this code writes and reads.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The engine every overhead is relative to, and whose output defines "diverged".</summary>
    public const string BaselineEngine = "native";

    /// <summary>The tool's version (the assembly's informational version).</summary>
    public required string ToolVersion { get; init; }

    /// <summary>When the run finished.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>The host machine.</summary>
    public required HostInfo Host { get; init; }

    /// <summary>The run's parameters.</summary>
    public required RunParameters Parameters { get; init; }

    /// <summary>The engines, with their one-line descriptions, in report order.</summary>
    public required IReadOnlyList<EngineSummary> Engines { get; init; }

    /// <summary>The workloads, with descriptions and iteration counts, in report order.</summary>
    public required IReadOnlyList<WorkloadSummary> Workloads { get; init; }

    /// <summary>One result per engine and workload, engine-major in report order.</summary>
    public required IReadOnlyList<PairResult> Results { get; init; }

    /// <summary>The profile the priced figures use, or null before pricing.</summary>
    public CostProfile? Profile { get; init; }

    /// <summary>The result of an engine on a workload, or null.</summary>
    public PairResult? Find(string engine, string workload) =>
        Results.FirstOrDefault(r => r.Engine == engine && r.Workload == workload);
}

/// <summary>An engine as the results describe it.</summary>
public sealed record EngineSummary(string Name, string Description, KernelFlavor Flavor);

/// <summary>A workload as the results describe it.</summary>
public sealed record WorkloadSummary(string Name, string Description, uint Iterations);
