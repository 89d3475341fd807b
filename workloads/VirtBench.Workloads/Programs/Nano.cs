using VirtBench.Workloads.Kernel;
using VirtBench.Workloads.User;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>
/// The nanobenchmarks (after Adams and Agesen, 32-bit forms): one sensitive operation per iteration, in user mode
/// or in a kernel loop (kbench), each iteration's value mixed into the checksum.
/// </summary>
internal static class Nano
{
    private const uint Max = 50_000_000;

    public static IEnumerable<Workload> All()
    {
        yield return UserLoop("syscall", "null system call through int 0x80 (getpid): trap gate entry, dispatch, iret",
            40_000, u => u.Int80(Sys.GetPid), _ => 1);
        yield return UserLoop("sysenter", "null system call through the vDSO's sysenter and the kernel's sysexit",
            40_000, u => u.Sysenter(Sys.GetPid), _ => 1);
        yield return KernelLoop("in", "port read in the kernel (the PIC's interrupt mask): I/O instruction virtualization",
            250_000, KernelBenchKind.In);
        yield return KernelLoop("irqflags", "cli/sti and pushf/popf (local_irq_save/restore) in the kernel: the virtual interrupt flag",
            150_000, KernelBenchKind.IrqFlags);
        yield return KernelLoop("callret", "call/ret pairs in kernel code: control flow (binary translation's return lookup)",
            200_000, KernelBenchKind.CallRet);
        yield return KernelLoop("ptemod", "the kernel rewrites a live PTE and flushes its TLB entry: page-table write tracing",
            150_000, KernelBenchKind.PteMod);
        yield return PageFault();
        yield return DivZero();
        yield return UserLoop("cpuid", "cpuid in user mode (leaf 0; values never printed): an unconditional VM exit",
            250_000, u =>
            {
                u.A.xor(eax, eax);
                u.A.cpuid();
                u.Mix(edi, esi);
            }, i => i, mixesItself: true);
        yield return UserLoop("rdtsc", "rdtsc in user mode (values never printed): time-stamp counter virtualization",
            250_000, u =>
            {
                u.A.rdtsc();
                u.Mix(edi, esi);
            }, i => i, mixesItself: true);
    }

    /// <summary>A user-mode loop whose body leaves a value in EAX (mixed in), or mixes by itself.</summary>
    private static Workload UserLoop(string name, string description, uint defaultIterations, Action<UserCode> body,
        Func<uint, uint> value, bool mixesItself = false) =>
        new(name, WorkloadKind.Nano, description, defaultIterations, Max, it => it,
            it => Skeleton.Checksum(it, value),
            it => Skeleton.Loop(name, it, u =>
            {
                body(u);
                if (!mixesItself) u.Mix(edi, eax);
            }));

    /// <summary>One kbench call that loops in the kernel; the call's result is the checksum.</summary>
    private static Workload KernelLoop(string name, string description, uint defaultIterations, uint kind) =>
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

    private const int FaultRegionPages = 64;

    /// <summary>pgfault: write-touch fresh pages of an mmap area (demand-zero faults), unmapping every 64 pages.</summary>
    private static Workload PageFault() =>
        new("pgfault", WorkloadKind.Nano, "user touches unmapped pages and the kernel maps zeroed frames (demand-zero faults)",
            8_000, 1_000_000, it => it, it => Skeleton.Checksum(it, i => i), it =>
            [
                new GuestProgram("pgfault", u =>
                {
                    var a = u.A;
                    Skeleton.Begin(u, it);
                    a.mov(esi, it);
                    var round = u.NewLabel();
                    var touch = u.NewLabel();
                    var full = u.NewLabel();
                    u.Bind(ref round);
                    u.Call(Sys.Mmap, FaultRegionPages * 4096, Prot.Read | Prot.Write);
                    Skeleton.ExpectSuccess(u, "mmap");
                    a.mov(ebx, eax);
                    a.mov(edx, eax);
                    a.mov(ebp, FaultRegionPages);
                    a.cmp(esi, ebp);
                    a.jae(full);
                    a.mov(ebp, esi);
                    u.Bind(ref full);
                    u.Bind(ref touch);
                    a.mov(__dword_ptr[edx], esi);
                    a.mov(eax, __dword_ptr[edx]);
                    u.Mix(edi, eax);
                    a.add(edx, 4096);
                    a.dec(esi);
                    a.dec(ebp);
                    a.jnz(touch);
                    u.Call(Sys.Munmap, ebx, FaultRegionPages * 4096);
                    a.test(esi, esi);
                    a.jnz(round);
                    Skeleton.End(u);
                    Skeleton.Report(u, "pgfault", it);
                }),
            ]);

    /// <summary>divzero: a user #DE that the kernel turns into a jump to the program's recovery address.</summary>
    private static Workload DivZero() =>
        new("divzero", WorkloadKind.Nano, "user divide error (#DE) delivered through the kernel back to a user recovery address",
            25_000, Max, it => it, it => Skeleton.Checksum(it, i => i), it =>
            [
                new GuestProgram("divzero", u =>
                {
                    var a = u.A;
                    u.Call(Sys.Catch, u.K.Addr("recover"));
                    Skeleton.Begin(u, it);
                    a.mov(esi, it);
                    var loop = u.NewLabel();
                    u.Bind(ref loop);
                    a.xor(edx, edx);
                    a.mov(eax, esi);
                    a.xor(ecx, ecx);
                    a.div(ecx);
                    u.K.Bind("recover");               // EAX = vector 0, EDX = the faulting EIP
                    a.add(eax, esi);
                    u.Mix(edi, eax);
                    a.dec(esi);
                    a.jnz(loop);
                    Skeleton.End(u);
                    u.Call(Sys.Catch, 0);
                    Skeleton.Report(u, "divzero", it);
                }),
            ]);
}
