using VirtBench.Workloads.Kernel;

namespace VirtBench.Workloads.Programs;

/// <summary>syscall: getpid through int 0x80 in a user loop.</summary>
internal static class Syscall
{
    public static Workload Definition { get; } = NanoLoops.UserLoop("syscall", "null system call through int 0x80 (getpid): trap gate entry, dispatch, iret",
        40_000, u => u.Int80(Sys.GetPid), _ => 1);
}
