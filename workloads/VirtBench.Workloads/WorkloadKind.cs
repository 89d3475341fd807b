namespace VirtBench.Workloads;

/// <summary>The two families of workloads (DESIGN.md section 5).</summary>
public enum WorkloadKind
{
    /// <summary>A nanobenchmark: one sensitive operation in a loop (after Adams and Agesen).</summary>
    Nano,

    /// <summary>A macrobenchmark: a syscall-heavy program (after lmbench and the papers).</summary>
    Macro,
}
