using VirtBench.Workloads.Kernel;

namespace VirtBench.Workloads.Programs;

/// <summary>ptemod: the kernel remaps a page by rewriting its PTE, flushes it and reads through it, in a loop.</summary>
internal static class PteMod
{
    public static Workload Definition { get; } = NanoLoops.KernelLoop("ptemod", "the kernel rewrites a live PTE and flushes its TLB entry: page-table write tracing",
        150_000, KernelBenchKind.PteMod);
}
