using VirtBench.Workloads.Kernel;
using VirtBench.Workloads.User;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>pgfault: write-touch fresh pages of an mmap area (demand-zero faults), unmapping every 64 pages.</summary>
internal static class PageFault
{
    private const int FaultRegionPages = 64;

    public static Workload Definition { get; } =
        new("pgfault", WorkloadKind.Nano, "user touches unmapped pages and the kernel maps zeroed frames (demand-zero faults)",
            6_000, 1_000_000, it => it, it => Skeleton.Checksum(it, i => i), it =>
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
}
