using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>
/// pipe: a child streams 4 KiB chunks through a pipe to its parent. The parent samples the stream every 2048
/// bytes (so the checksum does not depend on how reads split the stream) and mixes the total length.
/// </summary>
internal static class PipeWorkload
{
    private const int Chunk = 4096, Stride = 2048;

    public static Workload Definition { get; } = new("pipe", WorkloadKind.Macro,
        "bulk transfer of 4 KiB chunks through a pipe: user copies, blocking reader and writer, wakeups",
        1_000, 100_000, it => it, Checksum, it =>
        [
            new GuestProgram("pipe", u =>
            {
                var a = u.A;
                uint fds = u.Buffer("fds", 8), buffer = u.Buffer("buffer", Chunk);
                u.Call(Sys.Pipe, fds);
                Skeleton.ExpectSuccess(u, "pipe");
                u.Int80(Sys.Fork);
                Skeleton.ExpectSuccess(u, "fork");
                var child = u.NewLabel();
                a.test(eax, eax);
                a.jz(child);

                // Parent: read to end of file, EBP = stream offset.
                Skeleton.CloseAt(u, "fds", 4);
                a.mov(esi, Skeleton.At(u, "fds"));
                Skeleton.Begin(u, it);
                a.xor(ebp, ebp);
                var read = u.NewLabel();
                var sample = u.NewLabel();
                var sampled = u.NewLabel();
                var eof = u.NewLabel();
                u.Bind(ref read);
                u.Call(Sys.Read, esi, buffer, Chunk);
                a.test(eax, eax);
                a.jle(eof);
                a.lea(ecx, __[ebp + Stride - 1]);
                a.and(ecx, -Stride);
                a.lea(edx, __[ebp + eax]);
                u.Bind(ref sample);
                a.cmp(ecx, edx);
                a.jae(sampled);
                a.mov(ebx, ecx);
                a.sub(ebx, ebp);
                a.movzx(ebx, __byte_ptr[ebx + buffer]);
                u.Mix(edi, ebx);
                a.add(ecx, Stride);
                a.jmp(sample);
                u.Bind(ref sampled);
                a.add(ebp, eax);
                a.jmp(read);
                u.Bind(ref eof);
                Skeleton.ExpectSuccess(u, "read");
                u.Mix(edi, ebp);
                Skeleton.End(u);
                u.Call(Sys.WaitPid, -1, 0);
                Skeleton.ExpectSuccess(u, "waitpid");
                Skeleton.Report(u, "pipe", it);

                // Child: chunk k is filled with (13k + 1) & 0xFF and starts with k & 0xFF.
                u.Bind(ref child);
                Skeleton.CloseAt(u, "fds");
                a.mov(esi, Skeleton.At(u, "fds", 4));
                a.xor(ebp, ebp);
                var write = u.NewLabel();
                u.Bind(ref write);
                a.imul(eax, ebp, 13);
                a.inc(eax);
                a.movzx(eax, al);
                a.imul(eax, eax, 0x0101_0101);
                a.mov(edi, buffer);
                a.mov(ecx, Chunk / 4);
                a.rep.stosd();
                a.mov(eax, ebp);
                a.mov(__byte_ptr[buffer], al);
                u.Call(Sys.Write, esi, buffer, Chunk);
                Skeleton.Expect(u, Chunk, "write");
                a.inc(ebp);
                a.cmp(ebp, it);
                a.jb(write);
                u.Exit(0);
            }),
        ]);

    private static uint Checksum(uint iterations)
    {
        uint h = Assembly.Fnv.Offset;
        for (uint k = 0; k < iterations; k++)
        {
            h = Assembly.Fnv.Mix(h, k & 0xFF);
            h = Assembly.Fnv.Mix(h, (k * 13 + 1) & 0xFF);
        }
        return Assembly.Fnv.Mix(h, iterations * Chunk);
    }
}
