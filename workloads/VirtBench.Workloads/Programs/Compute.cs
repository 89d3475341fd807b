using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>compute: a xorshift generator scattering into a table, with a getpid every 4096 iterations.</summary>
internal static class Compute
{
    private const uint Seed = 0x1234_5678;
    private const int Buckets = 256, SyscallEvery = 4096;

    public static Workload Definition { get; } = new("compute", WorkloadKind.Macro,
        "CPU-bound user code (xorshift into a table) with a rare system call: the cost of running unprivileged code",
        150_000, 50_000_000, it => it, Checksum, it =>
        [
            new GuestProgram("compute", u =>
            {
                var a = u.A;
                uint table = u.Buffer("table", Buckets * 4);
                Skeleton.Begin(u, it);
                a.mov(esi, it);
                a.mov(ebx, unchecked((int)Seed));
                var loop = u.NewLabel();
                var noCall = u.NewLabel();
                u.Bind(ref loop);
                a.mov(eax, ebx);
                a.shl(eax, 13);
                a.xor(ebx, eax);
                a.mov(eax, ebx);
                a.shr(eax, 17);
                a.xor(ebx, eax);
                a.mov(eax, ebx);
                a.shl(eax, 5);
                a.xor(ebx, eax);
                a.movzx(eax, bl);
                a.add(__dword_ptr[eax * 4 + table], ebx);
                a.test(esi, SyscallEvery - 1);
                a.jnz(noCall);
                u.Int80(Sys.GetPid);
                u.Bind(ref noCall);
                a.dec(esi);
                a.jnz(loop);
                a.xor(ecx, ecx);
                var sum = u.NewLabel();
                u.Bind(ref sum);
                a.mov(eax, __dword_ptr[ecx * 4 + table]);
                u.Mix(edi, eax);
                a.inc(ecx);
                a.cmp(ecx, Buckets);
                a.jb(sum);
                u.Mix(edi, ebx);
                Skeleton.End(u);
                Skeleton.Report(u, "compute", it);
            }),
        ]);

    private static uint Checksum(uint iterations)
    {
        var table = new uint[Buckets];
        uint x = Seed;
        for (uint i = iterations; i >= 1; i--)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            table[x & 0xFF] += x;
        }
        uint h = Assembly.Fnv.Offset;
        foreach (uint v in table) h = Assembly.Fnv.Mix(h, v);
        return Assembly.Fnv.Mix(h, x);
    }
}
