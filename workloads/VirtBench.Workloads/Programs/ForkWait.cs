using VirtBench.Workloads.Kernel;
using VirtBench.Workloads.User;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>
/// forkwait: fork, the child exits at once with a status, the parent waits for it. The parent first touches a
/// working set of <see cref="WorkingSetPages"/> pages (as a real process has a heap), so every fork copies and
/// write-protects that many page-table entries and every exit tears them down, as lmbench's fork does.
/// </summary>
internal static class ForkWait
{
    /// <summary>Pages of the parent's working set.</summary>
    public const int WorkingSetPages = 16;

    public static Workload Definition { get; } = new("forkwait", WorkloadKind.Macro,
        "fork (copy-on-write copy of a 16-page working set), child exit (teardown), wait: process creation and destruction",
        600, 100_000, it => it, it => Skeleton.Checksum(it, i => i & 0x7F), it =>
        Skeleton.ForkWaitLoop("forkwait", it, TouchWorkingSet, u =>
        {
            u.A.mov(ebx, esi);
            u.A.and(ebx, 0x7F);
            u.Int80(Sys.Exit);
        }));

    private static void TouchWorkingSet(UserCode u)
    {
        u.Call(Sys.Mmap, WorkingSetPages * 4096, Prot.Read | Prot.Write);
        Skeleton.ExpectSuccess(u, "mmap");
        for (int page = 0; page < WorkingSetPages; page++)
            u.A.mov(__dword_ptr[eax + page * 4096], page + 1);
    }
}
