using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>ctxswitch: parent and child pass a token back and forth through two pipes (two switches per round trip).</summary>
internal static class ContextSwitch
{
    public static Workload Definition { get; } = new("ctxswitch", WorkloadKind.Macro,
        "two processes ping-pong a token through two pipes: blocking, wakeup and address-space switches",
        1_000, 1_000_000, it => it, it => Skeleton.Checksum(it, i => i + 1), it =>
        [
            new GuestProgram("ctxswitch", u =>
            {
                var a = u.A;
                uint down = u.Buffer("down", 8), up = u.Buffer("up", 8), token = Skeleton.Variable(u, "token");
                u.Call(Sys.Pipe, down);
                Skeleton.ExpectSuccess(u, "pipe");
                u.Call(Sys.Pipe, up);
                Skeleton.ExpectSuccess(u, "pipe");
                u.Int80(Sys.Fork);
                Skeleton.ExpectSuccess(u, "fork");
                var child = u.NewLabel();
                a.test(eax, eax);
                a.jz(child);

                // Parent: send i, expect i + 1 back.
                Skeleton.CloseAt(u, "down");
                Skeleton.CloseAt(u, "up", 4);
                Skeleton.Begin(u, it);
                a.mov(esi, it);
                var loop = u.NewLabel();
                u.Bind(ref loop);
                a.mov(Skeleton.At(u, "token"), esi);
                a.mov(ebx, Skeleton.At(u, "down", 4));
                u.Call(Sys.Write, ebx, token, 4);
                Skeleton.Expect(u, 4, "write");
                a.mov(ebx, Skeleton.At(u, "up"));
                u.Call(Sys.Read, ebx, token, 4);
                Skeleton.Expect(u, 4, "read");
                a.mov(eax, Skeleton.At(u, "token"));
                u.Mix(edi, eax);
                a.dec(esi);
                a.jnz(loop);
                Skeleton.End(u);
                Skeleton.CloseAt(u, "down", 4);
                u.Call(Sys.WaitPid, -1, 0);
                Skeleton.ExpectSuccess(u, "waitpid");
                Skeleton.Report(u, "ctxswitch", it);

                // Child: echo token + 1 until end of file.
                u.Bind(ref child);
                Skeleton.CloseAt(u, "down", 4);
                Skeleton.CloseAt(u, "up");
                var echo = u.NewLabel();
                var done = u.NewLabel();
                u.Bind(ref echo);
                a.mov(ebx, Skeleton.At(u, "down"));
                u.Call(Sys.Read, ebx, token, 4);
                a.cmp(eax, 4);
                a.jne(done);
                a.inc(Skeleton.At(u, "token"));
                a.mov(ebx, Skeleton.At(u, "up", 4));
                u.Call(Sys.Write, ebx, token, 4);
                a.jmp(echo);
                u.Bind(ref done);
                u.Exit(0);
            }),
        ]);
}
