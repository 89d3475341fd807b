using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// Copies between kernel and user memory, as Linux's copy_from_user/copy_to_user: the range is checked against
/// user space first, and a page fault on a copy instruction is resolved like a user fault or, failing that,
/// resumes at a fixup that returns -EFAULT (an exception table).
/// </summary>
internal static class UserCopy
{
    public static void Emit(KernelContext c)
    {
        // copy_from_user(EAX = kernel destination, EDX = user source, ECX = count) -> 0 or -EFAULT.
        EmitCopy(c, "copy_from_user", user: edx);
        // copy_to_user(EAX = user destination, EDX = kernel source, ECX = count) -> 0 or -EFAULT.
        EmitCopy(c, "copy_to_user", user: eax);

        var (k, a) = (c.K, c.A);
        // exception_fixup(EAX = faulting EIP) -> EAX = its fixup address, or 0.
        k.Bind("exception_fixup");
        a.mov(ecx, k.Addr("exception_table"));
        a.mov(edx, Sites.Length);
        var loop = c.NewLabel();
        var found = c.NewLabel();
        c.Bind(ref loop);
        a.cmp(eax, __dword_ptr[ecx]);
        a.je(found);
        a.add(ecx, 8);
        a.dec(edx);
        a.jnz(loop);
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref found);
        a.mov(eax, __dword_ptr[ecx + 4]);
        a.ret();

        k.Data("exception_table", () =>
        {
            foreach (var (site, fixup) in Sites)
            {
                a.dd(k.Addr(site));
                a.dd(k.Addr(fixup));
            }
        });
    }

    private static readonly (string Site, string Fixup)[] Sites =
    [
        ("copy_from_user.dwords", "copy_from_user.fixup"), ("copy_from_user.bytes", "copy_from_user.fixup"),
        ("copy_to_user.dwords", "copy_to_user.fixup"), ("copy_to_user.bytes", "copy_to_user.fixup"),
    ];

    private static void EmitCopy(KernelContext c, string name, AssemblerRegister32 user)
    {
        var (k, a) = (c.K, c.A);
        k.Bind(name);
        var fault = c.NewLabel();
        a.cmp(user, unchecked((int)Layout.UserBase));
        a.jb(fault);
        a.push(ebx);
        a.mov(ebx, user);
        a.add(ebx, ecx);
        var inRange = c.NewLabel();
        var outOfRange = c.NewLabel();
        a.jc(outOfRange);
        a.cmp(ebx, unchecked((int)Layout.UserTop));
        a.jbe(inRange);
        c.Bind(ref outOfRange);
        a.pop(ebx);
        c.Bind(ref fault);
        a.mov(eax, -Errno.EFAULT);
        a.ret();
        c.Bind(ref inRange);
        a.pop(ebx);
        c.Save(esi, edi);
        a.mov(edi, eax);
        a.mov(esi, edx);
        a.mov(edx, ecx);
        a.shr(ecx, 2);
        k.Bind(name + ".dwords");
        a.rep.movsd();
        a.mov(ecx, edx);
        a.and(ecx, 3);
        k.Bind(name + ".bytes");
        a.rep.movsb();
        a.xor(eax, eax);
        c.Return(esi, edi);
        k.Bind(name + ".fixup");
        a.mov(eax, -Errno.EFAULT);
        c.Return(esi, edi);
    }
}
