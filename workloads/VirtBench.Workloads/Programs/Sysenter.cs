using VirtBench.Workloads.Kernel;

namespace VirtBench.Workloads.Programs;

/// <summary>sysenter: getpid through the vDSO (sysenter/sysexit) in a user loop.</summary>
internal static class Sysenter
{
    public static Workload Definition { get; } = NanoLoops.UserLoop("sysenter", "null system call through the vDSO's sysenter and the kernel's sysexit",
        40_000, u => u.Sysenter(Sys.GetPid), _ => 1);
}
