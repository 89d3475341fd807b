using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>forkwait: fork, the child exits at once with a status, the parent waits for it.</summary>
internal static class ForkWait
{
    public static Workload Definition { get; } = new("forkwait", WorkloadKind.Macro,
        "fork (copy-on-write address space copy), child exit (teardown), wait: process creation and destruction",
        600, 100_000, it => it, it => Skeleton.Checksum(it, i => i & 0x7F), it =>
        Skeleton.ForkWaitLoop("forkwait", it, u =>
        {
            u.A.mov(ebx, esi);
            u.A.and(ebx, 0x7F);
            u.Int80(Sys.Exit);
        }));
}
