using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// File descriptors and the calls on them: open, close, read and write, dispatched by descriptor kind to the
/// console, pipes (<see cref="Pipes"/>) and the serial loopback device. Writes to devices go through a kernel
/// bounce buffer, filled with copy_from_user.
/// </summary>
internal static class Files
{
    private const int BounceSize = 256;

    public static void Emit(KernelContext c)
    {
        EmitDescriptors(c);
        EmitOpenClose(c);
        EmitReadWrite(c);
    }

    private static void EmitDescriptors(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // fd_lookup(EAX = fd) -> EAX = the descriptor entry of the current process, or 0.
        k.Bind("fd_lookup");
        var bad = c.NewLabel();
        a.cmp(eax, Layout.MaxFds);
        a.jae(bad);
        a.mov(edx, c.Current);
        a.mov(eax, __dword_ptr[edx + eax * 4 + Proc.Fds]);
        a.ret();
        c.Bind(ref bad);
        a.xor(eax, eax);
        a.ret();

        // fd_install(EAX = entry) -> EAX = the lowest free descriptor, or -EMFILE.
        k.Bind("fd_install");
        a.mov(edx, c.Current);
        a.xor(ecx, ecx);
        var loop = c.NewLabel();
        var found = c.NewLabel();
        c.Bind(ref loop);
        a.cmp(__dword_ptr[edx + ecx * 4 + Proc.Fds], 0);
        a.je(found);
        a.inc(ecx);
        a.cmp(ecx, Layout.MaxFds);
        a.jb(loop);
        a.mov(eax, -Errno.EMFILE);
        a.ret();
        c.Bind(ref found);
        a.mov(__dword_ptr[edx + ecx * 4 + Proc.Fds], eax);
        a.mov(eax, ecx);
        a.ret();

        // fds_dup(EAX = process): a forked child's copied descriptors take their references.
        k.Bind("fds_dup");
        EmitForEachFd(c, "pipe_ref", clear: false);
        // fds_close_all(EAX = process).
        k.Bind("fds_close_all");
        EmitForEachFd(c, "pipe_unref", clear: true);
    }

    /// <summary>Calls <paramref name="routine"/>(entry) for each open descriptor of the process in EAX.</summary>
    private static void EmitForEachFd(KernelContext c, string routine, bool clear)
    {
        var (k, a) = (c.K, c.A);
        c.Save(ebx, esi);
        a.lea(ebx, __[eax + Proc.Fds]);
        a.lea(esi, __[eax + Proc.Fds + Layout.MaxFds * 4]);
        var loop = c.NewLabel();
        var skip = c.NewLabel();
        c.Bind(ref loop);
        a.mov(eax, __dword_ptr[ebx]);
        a.test(eax, eax);
        a.jz(skip);
        k.Call(routine);
        if (clear) a.mov(__dword_ptr[ebx], 0);
        c.Bind(ref skip);
        a.add(ebx, 4);
        a.cmp(ebx, esi);
        a.jb(loop);
        c.Return(ebx, esi);
    }

    private static void EmitOpenClose(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // sys_open(EBX = device) -> descriptor.
        k.Bind("sys_open");
        var invalid = c.NewLabel();
        a.mov(eax, FdKind.Console);
        a.cmp(ebx, (int)Device.Console);
        var install = c.NewLabel();
        a.je(install);
        a.mov(eax, FdKind.Loopback);
        a.cmp(ebx, (int)Device.SerialLoopback);
        a.jne(invalid);
        c.Bind(ref install);
        k.Jmp("fd_install");
        c.Bind(ref invalid);
        a.mov(eax, -Errno.EINVAL);
        a.ret();

        // sys_close(EBX = fd).
        k.Bind("sys_close");
        var badFd = c.NewLabel();
        a.mov(eax, ebx);
        k.Call("fd_lookup");
        a.test(eax, eax);
        a.jz(badFd);
        a.mov(edx, c.Current);
        a.mov(__dword_ptr[edx + ebx * 4 + Proc.Fds], 0);
        k.Call("pipe_unref");
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref badFd);
        a.mov(eax, -Errno.EBADF);
        a.ret();
        k.Bind("sys_bad_fd");
        a.mov(eax, -Errno.EBADF);
        a.ret();
    }

    private static void EmitReadWrite(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // sys_read(EBX = fd, ECX = buffer, EDX = count). Handlers below get ESI = object, EDI = buffer, EBX = count.
        k.Bind("sys_read");
        EmitDispatch(c, ("pipe_read", FdKind.PipeRead), ("console_read", FdKind.Console), ("loopback_read", FdKind.Loopback));
        // sys_write(EBX = fd, ECX = buffer, EDX = count).
        k.Bind("sys_write");
        EmitDispatch(c, ("pipe_write", FdKind.PipeWrite), ("console_write_user", FdKind.Console), ("loopback_write_user", FdKind.Loopback));

        k.Bind("console_read");
        a.xor(eax, eax);
        a.ret();

        k.Bind("console_write_user");
        EmitBounced(c, "console_write");
        k.Bind("loopback_write_user");
        EmitBounced(c, "loopback_transfer");
        k.Zeros("bounce_buffer", BounceSize);

        // loopback_read: what the device received, up to the end of its ring buffer.
        k.Bind("loopback_read");
        var empty = c.NewLabel();
        a.mov(ecx, k.Var("loopback_count"));
        a.test(ecx, ecx);
        a.jz(empty);
        a.cmp(ecx, ebx);
        var fits = c.NewLabel();
        a.jbe(fits);
        a.mov(ecx, ebx);
        c.Bind(ref fits);
        a.mov(edx, Drivers.LoopbackBuffer);
        a.sub(edx, k.Var("loopback_head"));
        a.cmp(ecx, edx);
        var noWrap = c.NewLabel();
        a.jbe(noWrap);
        a.mov(ecx, edx);
        c.Bind(ref noWrap);
        a.mov(esi, ecx);
        a.mov(eax, edi);
        a.mov(edx, k.Var("loopback_head"));
        a.add(edx, k.Addr("loopback_buffer"));
        k.Call("copy_to_user");
        var fault = c.NewLabel();
        a.test(eax, eax);
        a.jnz(fault);
        a.mov(eax, k.Var("loopback_head"));
        a.add(eax, esi);
        a.and(eax, Drivers.LoopbackBuffer - 1);
        a.mov(k.Var("loopback_head"), eax);
        a.sub(k.Var("loopback_count"), esi);
        a.mov(eax, esi);
        a.ret();
        c.Bind(ref empty);
        a.xor(eax, eax);
        c.Bind(ref fault);
        a.ret();
    }

    /// <summary>Looks up the descriptor in EBX and jumps to the handler of its kind; EBADF for others.</summary>
    private static void EmitDispatch(KernelContext c, params (string Handler, uint Kind)[] handlers)
    {
        var (k, a) = (c.K, c.A);
        a.mov(edi, ecx);
        a.push(edx);
        a.mov(eax, ebx);
        k.Call("fd_lookup");
        a.pop(ebx);
        a.movzx(ecx, al);
        a.shr(eax, 8);
        a.imul(esi, eax, Pipe.Size);
        a.add(esi, Layout.PipeTable);
        foreach (var (handler, kind) in handlers)
        {
            a.cmp(ecx, (int)kind);
            a.je(k.Label(handler));
        }
        k.Jmp("sys_bad_fd");
    }

    /// <summary>Copies the user buffer (EDI, EBX bytes) through the bounce buffer into <paramref name="sink"/>(buffer, count).</summary>
    private static void EmitBounced(KernelContext c, string sink)
    {
        var (k, a) = (c.K, c.A);
        a.xor(ebp, ebp);
        var loop = c.NewLabel();
        var done = c.NewLabel();
        var failed = c.NewLabel();
        var chunk = c.NewLabel();
        c.Bind(ref loop);
        a.mov(esi, ebx);
        a.sub(esi, ebp);
        a.jz(done);
        a.cmp(esi, BounceSize);
        a.jbe(chunk);
        a.mov(esi, BounceSize);
        c.Bind(ref chunk);
        a.mov(eax, k.Addr("bounce_buffer"));
        a.lea(edx, __[edi + ebp]);
        a.mov(ecx, esi);
        k.Call("copy_from_user");
        a.test(eax, eax);
        a.jnz(failed);
        a.mov(eax, k.Addr("bounce_buffer"));
        a.mov(edx, esi);
        k.Call(sink);
        a.test(eax, eax);
        a.js(failed);
        a.add(ebp, esi);
        a.jmp(loop);
        c.Bind(ref done);
        a.mov(eax, ebp);
        a.ret();
        c.Bind(ref failed);
        var error = c.NewLabel();
        a.test(ebp, ebp);      // a partial write reports what was written, else the error
        a.jz(error);
        a.mov(eax, ebp);
        c.Bind(ref error);
        a.ret();
    }
}
