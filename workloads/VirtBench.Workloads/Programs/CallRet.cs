using VirtBench.Workloads.Kernel;

namespace VirtBench.Workloads.Programs;

/// <summary>callret: the kernel calls a leaf routine in a loop.</summary>
internal static class CallRet
{
    public static Workload Definition { get; } = NanoLoops.KernelLoop("callret", "call/ret pairs in kernel code: control flow (binary translation's return lookup)",
        200_000, KernelBenchKind.CallRet);
}
