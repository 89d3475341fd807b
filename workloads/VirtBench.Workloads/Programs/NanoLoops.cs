using VirtBench.Workloads.Kernel;
using VirtBench.Workloads.User;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>
/// The two shapes of the nanobenchmarks (after Adams and Agesen, 32-bit forms): a user-mode loop around one
/// operation, or one kbench call whose loop runs in the kernel; each iteration's value is mixed into the checksum.
/// </summary>
internal static class NanoLoops
{
    /// <summary>The largest iteration count of a nanobenchmark.</summary>
    public const uint Max = 50_000_000;

    /// <summary>A user-mode loop whose body leaves a value in EAX (mixed in), or mixes by itself.</summary>
    public static Workload UserLoop(string name, string description, uint defaultIterations, Action<UserCode> body,
        Func<uint, uint> value, bool mixesItself = false) =>
        new(name, WorkloadKind.Nano, description, defaultIterations, Max, it => it,
            it => Skeleton.Checksum(it, value),
            it => Skeleton.Loop(name, it, u =>
            {
                body(u);
                if (!mixesItself) u.Mix(edi, eax);
            }));

    /// <summary>One kbench call that loops in the kernel; the call's result is the checksum.</summary>
    public static Workload KernelLoop(string name, string description, uint defaultIterations, uint kind) =>
        new(name, WorkloadKind.Nano, description, defaultIterations, Max, it => it,
            it => KernelBench.Expected(kind, it),
            it =>
            [
                new GuestProgram(name, u =>
                {
                    Skeleton.Begin(u, it);
                    u.Call(Sys.KernelBench, kind, it);
                    u.A.mov(edi, eax);
                    Skeleton.End(u);
                    Skeleton.Report(u, name, it);
                }),
            ]);
}
