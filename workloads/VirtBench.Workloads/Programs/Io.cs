using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>io: 16-byte blocks written to the serial loopback device and read back through the kernel's UART driver.</summary>
internal static class Io
{
    private const int Block = 16;

    public static Workload Definition { get; } = new("io", WorkloadKind.Macro,
        "device I/O: 16-byte blocks sent through the UART in loopback mode by the kernel's polling driver and read back",
        2_000, 1_000_000, it => it, Checksum, it =>
        [
            new GuestProgram("io", u =>
            {
                var a = u.A;
                uint output = u.Buffer("output", Block), input = u.Buffer("input", Block);
                u.Call(Sys.Open, Device.SerialLoopback);
                Skeleton.ExpectSuccess(u, "open");
                a.mov(ebp, eax);
                Skeleton.Begin(u, it);
                a.mov(esi, it);
                var loop = u.NewLabel();
                u.Bind(ref loop);
                a.imul(eax, esi, 0x0101_0101);
                for (int j = 0; j < Block / 4; j++)
                {
                    a.mov(Skeleton.At(u, "output", j * 4), eax);
                    a.inc(eax);
                }
                u.Call(Sys.Write, ebp, output, Block);
                Skeleton.Expect(u, Block, "write");
                u.Call(Sys.Read, ebp, input, Block);
                Skeleton.Expect(u, Block, "read");
                for (int j = 0; j < Block / 4; j++)
                {
                    a.mov(eax, Skeleton.At(u, "input", j * 4));
                    u.Mix(edi, eax);
                }
                a.dec(esi);
                a.jnz(loop);
                Skeleton.End(u);
                Skeleton.Report(u, "io", it);
            }),
        ]);

    private static uint Checksum(uint iterations)
    {
        uint h = Assembly.Fnv.Offset;
        for (uint i = iterations; i >= 1; i--)
            for (uint j = 0; j < Block / 4; j++) h = Assembly.Fnv.Mix(h, unchecked(i * 0x0101_0101 + j));
        return h;
    }
}
