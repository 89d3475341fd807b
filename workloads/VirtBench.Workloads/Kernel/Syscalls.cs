using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>The system call table (numbers in <see cref="Sys"/>) and the small calls that belong to no subsystem.</summary>
internal static class Syscalls
{
    private static readonly (uint Number, string Handler)[] Table =
    [
        (Sys.Exit, "sys_exit"), (Sys.Fork, "sys_fork"), (Sys.Read, "sys_read"), (Sys.Write, "sys_write"),
        (Sys.Open, "sys_open"), (Sys.Close, "sys_close"), (Sys.WaitPid, "sys_waitpid"), (Sys.Exec, "sys_exec"),
        (Sys.GetPid, "sys_getpid"), (Sys.Kill, "sys_kill"), (Sys.Pipe, "sys_pipe"), (Sys.Brk, "sys_brk"),
        (Sys.Mmap, "sys_mmap"), (Sys.Munmap, "sys_munmap"), (Sys.SysInfo, "sys_sysinfo"), (Sys.Mprotect, "sys_mprotect"),
        (Sys.Yield, "sys_yield"), (Sys.Catch, "sys_catch"), (Sys.KernelBench, "sys_kbench"), (Sys.Bench, "sys_bench"),
    ];

    public static void Emit(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        k.Data("syscall_table", () =>
        {
            for (uint n = 0; n < Sys.Count; n++)
                a.dd(k.Addr(Table.FirstOrDefault(t => t.Number == n).Handler ?? "sys_ni"));
        });

        k.Bind("sys_ni");
        a.mov(eax, -Errno.ENOSYS);
        a.ret();

        // sys_sysinfo(EBX = which): 0 free frames, 1 free process slots, 2 free pipes.
        k.Bind("sys_sysinfo");
        var slots = c.NewLabel();
        var pipes = c.NewLabel();
        a.cmp(ebx, 1);
        a.je(slots);
        a.cmp(ebx, 2);
        a.je(pipes);
        a.test(ebx, ebx);
        a.jnz(k.Label("sys_sysinfo.invalid"));
        a.mov(eax, k.Var("free_frames"));
        a.ret();
        c.Bind(ref slots);
        a.mov(eax, Proc.Free);
        k.Jmp("count_slots");
        c.Bind(ref pipes);
        a.xor(eax, eax);
        a.mov(ecx, Layout.PipeTable);
        var loop = c.NewLabel();
        var used = c.NewLabel();
        c.Bind(ref loop);
        a.mov(edx, __dword_ptr[ecx + Pipe.Readers]);
        a.or(edx, __dword_ptr[ecx + Pipe.Writers]);
        a.jnz(used);
        a.inc(eax);
        c.Bind(ref used);
        a.add(ecx, Pipe.Size);
        a.cmp(ecx, unchecked((int)(Layout.PipeTable + Layout.MaxPipes * Pipe.Size)));
        a.jb(loop);
        a.ret();
        k.Bind("sys_sysinfo.invalid");
        a.mov(eax, -Errno.EINVAL);
        a.ret();

        // sys_catch(EBX = user address or 0).
        k.Bind("sys_catch");
        var set = c.NewLabel();
        var invalid = c.NewLabel();
        a.test(ebx, ebx);
        a.jz(set);
        a.cmp(ebx, unchecked((int)Layout.UserBase));
        a.jb(invalid);
        a.cmp(ebx, unchecked((int)Layout.UserTop));
        a.jae(invalid);
        c.Bind(ref set);
        a.mov(eax, c.Current);
        a.mov(__dword_ptr[eax + Proc.CatchAddress], ebx);
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref invalid);
        a.mov(eax, -Errno.EINVAL);
        a.ret();
    }
}
