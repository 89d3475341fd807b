using VirtBench.Workloads.Assembly;
using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.User;

/// <summary>
/// The vDSO page the kernel maps read-only at <see cref="Layout.VdsoAddress"/> in every process, as Linux's
/// __kernel_vsyscall: a system call through sysenter. EAX = number, arguments in EBX, ECX, EDX, ESI, EDI; the
/// stub saves ECX, EDX and EBP (sysexit returns through EDX/ECX), the kernel returns to vdso.sysenter_return
/// with ESP = the EBP it was given.
/// </summary>
internal static class Vdso
{
    public static AssembledCode Assemble() => CodeBuilder.Build(Layout.VdsoAddress, k =>
    {
        var a = k.A;
        k.Bind("vdso.vsyscall");
        a.push(ecx);
        a.push(edx);
        a.push(ebp);
        a.mov(ebp, esp);
        a.sysenter();
        k.Bind("vdso.sysenter_return");
        a.pop(ebp);
        a.pop(edx);
        a.pop(ecx);
        a.ret();
    });
}
