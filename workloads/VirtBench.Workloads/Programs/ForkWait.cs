using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>forkwait: fork, the child exits at once with a status, the parent waits for it.</summary>
internal static class ForkWait
{
    public static Workload Definition { get; } = new("forkwait", WorkloadKind.Macro,
        "fork (copy-on-write address space copy), child exit (teardown), wait: process creation and destruction",
        300, 100_000, it => it, it => Skeleton.Checksum(it, i => i & 0x7F), it =>
        [
            new GuestProgram("forkwait", u =>
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
                a.mov(ebx, esi);
                a.and(ebx, 0x7F);
                u.Int80(Sys.Exit);
                u.Bind(ref parent);
                Skeleton.ExpectSuccess(u, "fork");
                u.Call(Sys.WaitPid, -1, status);
                Skeleton.ExpectSuccess(u, "waitpid");
                a.mov(eax, Skeleton.At(u, "status"));
                u.Mix(edi, eax);
                a.dec(esi);
                a.jnz(loop);
                Skeleton.End(u);
                Skeleton.Report(u, "forkwait", it);
            }),
        ]);
}
