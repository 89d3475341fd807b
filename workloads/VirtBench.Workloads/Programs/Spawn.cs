using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>spawn: fork, the child execs a second program image that exits with a status computed from its argument.</summary>
internal static class Spawn
{
    public static Workload Definition { get; } = new("spawn", WorkloadKind.Macro,
        "fork + exec of a new program image + exit + wait: loading programs, tearing down address spaces",
        450, 100_000, it => it, it => Skeleton.Checksum(it, ChildStatus), it =>
        Skeleton.ForkWaitLoop("spawn", it, u =>
        {
            u.Call(Sys.Exec, 1, esi);
            u.Exit(99);
        },
        // The spawned program: EAX = argument; uses its stack and exits with (7 * argument + 3) & 0xFF.
        new GuestProgram("spawn-child", u =>
        {
            var a = u.A;
            a.push(eax);
            a.pop(ebx);
            a.imul(ebx, ebx, 7);
            a.add(ebx, 3);
            a.and(ebx, 0xFF);
            u.Int80(Sys.Exit);
        })));

    private static uint ChildStatus(uint i) => (i * 7 + 3) & 0xFF;
}
