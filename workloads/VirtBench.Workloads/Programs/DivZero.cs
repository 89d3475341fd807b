using VirtBench.Workloads.Kernel;
using VirtBench.Workloads.User;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>divzero: a user #DE that the kernel turns into a jump to the program's recovery address.</summary>
internal static class DivZero
{
    public static Workload Definition { get; } =
        new("divzero", WorkloadKind.Nano, "user divide error (#DE) delivered through the kernel back to a user recovery address",
            25_000, NanoLoops.Max, it => it, it => Skeleton.Checksum(it, i => i), it =>
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
