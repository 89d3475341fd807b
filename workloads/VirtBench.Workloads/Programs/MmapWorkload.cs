using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>mmap: map an 8-page area, write-touch every page, unmap it.</summary>
internal static class MmapWorkload
{
    private const int Pages = 8;

    public static Workload Definition { get; } = new("mmap", WorkloadKind.Macro,
        "map an 8-page anonymous area, touch each page, unmap it: VMA bookkeeping, demand-zero faults, TLB flushes",
        800, 1_000_000, it => it, Checksum, it =>
        [
            new GuestProgram("mmap", u =>
            {
                var a = u.A;
                Skeleton.Begin(u, it);
                a.mov(esi, it);
                var loop = u.NewLabel();
                u.Bind(ref loop);
                u.Call(Sys.Mmap, Pages * 4096, Prot.Read | Prot.Write);
                Skeleton.ExpectSuccess(u, "mmap");
                a.mov(ebx, eax);
                for (int page = 0; page < Pages; page++)
                {
                    a.mov(__dword_ptr[ebx + page * 4096], esi);
                    a.mov(eax, __dword_ptr[ebx + page * 4096]);
                    u.Mix(edi, eax);
                }
                u.Call(Sys.Munmap, ebx, Pages * 4096);
                Skeleton.ExpectSuccess(u, "munmap");
                a.dec(esi);
                a.jnz(loop);
                Skeleton.End(u);
                Skeleton.Report(u, "mmap", it);
            }),
        ]);

    private static uint Checksum(uint iterations)
    {
        uint h = Assembly.Fnv.Offset;
        for (uint i = iterations; i >= 1; i--)
            for (int page = 0; page < Pages; page++) h = Assembly.Fnv.Mix(h, i);
        return h;
    }
}
