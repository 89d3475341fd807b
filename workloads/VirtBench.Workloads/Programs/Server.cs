using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>
/// server: a client sends requests through a pipe; for each, the server maps a scratch page and faults it in,
/// echoes the request through the serial loopback device, computes a response, unmaps the page and answers
/// through a second pipe. Timer interrupts preempt both along the way. The client finally sends its own checksum
/// (of the responses and its request numbers).
/// </summary>
internal static class Server
{
    private const uint FinalTag = 0xFFFF_FFFF;

    public static Workload Definition { get; } = new("server", WorkloadKind.Macro,
        "request loop mixing pipes, context switches, mmap and page faults, device I/O and timer interrupts",
        500, 100_000, it => it, Checksum, it =>
        [
            new GuestProgram("server", u =>
            {
                var a = u.A;
                uint requests = u.Buffer("requests", 8), responses = u.Buffer("responses", 8);
                uint message = u.Buffer("message", 8), reply = Skeleton.Variable(u, "reply"), echo = u.Buffer("echo", 8);
                u.Call(Sys.Pipe, requests);
                Skeleton.ExpectSuccess(u, "pipe");
                u.Call(Sys.Pipe, responses);
                Skeleton.ExpectSuccess(u, "pipe");
                u.Call(Sys.Open, Device.SerialLoopback);
                Skeleton.ExpectSuccess(u, "open");
                a.mov(ebp, eax);
                u.Int80(Sys.Fork);
                Skeleton.ExpectSuccess(u, "fork");
                var client = u.NewLabel();
                a.test(eax, eax);
                a.jz(client);

                // Server.
                Skeleton.CloseAt(u, "requests", 4);
                Skeleton.CloseAt(u, "responses");
                Skeleton.Begin(u, it);
                var serve = u.NewLabel();
                var final = u.NewLabel();
                u.Bind(ref serve);
                a.mov(ebx, Skeleton.At(u, "requests"));
                u.Call(Sys.Read, ebx, message, 8);
                Skeleton.Expect(u, 8, "read request");
                a.cmp(Skeleton.At(u, "message"), unchecked((int)FinalTag));
                a.je(final);
                u.Call(Sys.Mmap, 4096, Prot.Read | Prot.Write);
                Skeleton.ExpectSuccess(u, "mmap");
                a.mov(esi, eax);
                a.mov(eax, Skeleton.At(u, "message", 4));
                a.mov(__dword_ptr[esi], eax);
                u.Call(Sys.Write, ebp, esi, 8);
                Skeleton.Expect(u, 8, "device write");
                u.Call(Sys.Read, ebp, echo, 8);
                Skeleton.Expect(u, 8, "device read");
                u.Call(Sys.Munmap, esi, 4096);
                Skeleton.ExpectSuccess(u, "munmap");
                a.imul(eax, Skeleton.At(u, "echo"), 31);
                a.add(eax, Skeleton.At(u, "message"));
                a.mov(Skeleton.At(u, "reply"), eax);
                u.Mix(edi, eax);
                a.mov(ebx, Skeleton.At(u, "responses", 4));
                u.Call(Sys.Write, ebx, reply, 4);
                Skeleton.Expect(u, 4, "write response");
                a.jmp(serve);
                u.Bind(ref final);
                a.mov(eax, Skeleton.At(u, "message", 4));
                u.Mix(edi, eax);
                Skeleton.End(u);
                u.Call(Sys.WaitPid, -1, reply);
                Skeleton.ExpectSuccess(u, "waitpid");
                a.mov(eax, Skeleton.At(u, "reply"));
                u.Mix(edi, eax);
                Skeleton.Report(u, "server", it);

                // Client: requests (i, 3i) for i = N..1, then (FinalTag, its checksum of the responses).
                u.Bind(ref client);
                Skeleton.CloseAt(u, "requests");
                Skeleton.CloseAt(u, "responses", 4);
                a.mov(edi, unchecked((int)Assembly.Fnv.Offset));
                a.mov(esi, it);
                var request = u.NewLabel();
                u.Bind(ref request);
                a.mov(Skeleton.At(u, "message"), esi);
                a.imul(eax, esi, 3);
                a.mov(Skeleton.At(u, "message", 4), eax);
                a.mov(ebx, Skeleton.At(u, "requests", 4));
                u.Call(Sys.Write, ebx, message, 8);
                Skeleton.Expect(u, 8, "write request");
                a.mov(ebx, Skeleton.At(u, "responses"));
                u.Call(Sys.Read, ebx, reply, 4);
                Skeleton.Expect(u, 4, "read response");
                a.mov(eax, Skeleton.At(u, "reply"));
                u.Mix(edi, eax);
                u.Mix(edi, esi);
                a.dec(esi);
                a.jnz(request);
                a.mov(Skeleton.At(u, "message"), unchecked((int)FinalTag));
                a.mov(Skeleton.At(u, "message", 4), edi);
                a.mov(ebx, Skeleton.At(u, "requests", 4));
                u.Call(Sys.Write, ebx, message, 8);
                Skeleton.Expect(u, 8, "write request");
                u.Exit(0);
            }),
        ]);

    private static uint Checksum(uint iterations)
    {
        uint Response(uint i) => unchecked(i * 3 * 31 + i);
        uint server = Skeleton.Checksum(iterations, Response);
        uint client = Assembly.Fnv.Offset;
        for (uint i = iterations; i >= 1; i--) client = Assembly.Fnv.Mix(Assembly.Fnv.Mix(client, Response(i)), i);
        return Assembly.Fnv.Mix(Assembly.Fnv.Mix(server, client), 0);
    }
}
