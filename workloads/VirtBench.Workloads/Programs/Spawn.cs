using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>spawn: fork, the child execs a second program image that exits with a status computed from its argument.</summary>
internal static class Spawn
{
    public static Workload Definition { get; } = new("spawn", WorkloadKind.Macro,
        "fork + exec of a new program image + exit + wait: loading programs, tearing down address spaces",
        200, 100_000, it => it, it => Skeleton.Checksum(it, ChildStatus), it =>
        [
            new GuestProgram("spawn", u =>
            {
                var a = u.A;
                uint status = Skeleton.Variable(u, "status");
                Skeleton.Begin(u, it);
                a.mov(esi, it);
                var loop = u.NewLabel();
                var parent = u.NewLabel();
                u.Bind(ref loop);
                u.Int80(Sys.Fork);
                a.test(eax, eax);
                a.jnz(parent);
                u.Call(Sys.Exec, 1, esi);
                u.Exit(99);
                u.Bind(ref parent);
                Skeleton.ExpectSuccess(u, "fork");
                u.Call(Sys.WaitPid, -1, status);
                Skeleton.ExpectSuccess(u, "waitpid");
                a.mov(eax, Skeleton.At(u, "status"));
                u.Mix(edi, eax);
                a.dec(esi);
                a.jnz(loop);
                Skeleton.End(u);
                Skeleton.Report(u, "spawn", it);
            }),
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
            }),
        ]);

    private static uint ChildStatus(uint i) => (i * 7 + 3) & 0xFF;
}
