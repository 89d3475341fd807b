using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// Pipes: a 4 KiB ring buffer per pipe with reader and writer counts. Readers sleep while a pipe is empty and has
/// writers; writers sleep while it is full and has readers; both sleep on the pipe's address.
/// </summary>
internal static class Pipes
{
    private const uint PipesEnd = Layout.PipeTable + Layout.MaxPipes * Pipe.Size;

    public static void Emit(KernelContext c)
    {
        EmitReferences(c);
        EmitPipeCall(c);
        EmitRead(c);
        EmitWrite(c);
    }

    private static void EmitReferences(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // pipe_ref(EAX = descriptor entry) / pipe_unref(EAX): count a pipe end in or out (no-op for other kinds).
        EmitCountChange(c, "pipe_ref", +1);
        EmitCountChange(c, "pipe_unref", -1);

        // pipe_object(EAX = descriptor entry) -> EAX = the pipe.
        k.Bind("pipe_object");
        a.shr(eax, 8);
        a.imul(eax, eax, Pipe.Size);
        a.add(eax, Layout.PipeTable);
        a.ret();
    }

    private static void EmitCountChange(KernelContext c, string name, int delta)
    {
        var (k, a) = (c.K, c.A);
        k.Bind(name);
        var write = c.NewLabel();
        var done = c.NewLabel();
        a.movzx(ecx, al);
        a.cmp(ecx, (int)FdKind.PipeRead);
        a.je(write);
        a.cmp(ecx, (int)FdKind.PipeWrite);
        a.jne(done);
        c.Bind(ref write);
        k.Call("pipe_object");
        // PipeRead counts readers (offset 0), PipeWrite writers (offset 4): (kind - 2) * 4.
        a.lea(edx, __[ecx * 4 - 8]);
        a.add(__dword_ptr[eax + edx], delta);
        if (delta < 0) k.Call("wakeup");     // the other end may be waiting for this end to go away
        c.Bind(ref done);
        a.ret();
    }

    private static void EmitPipeCall(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // sys_pipe(EBX = int[2] in user memory) -> 0; fds[0] reads, fds[1] writes.
        k.Bind("sys_pipe");
        a.mov(esi, Layout.PipeTable);
        var loop = c.NewLabel();
        var found = c.NewLabel();
        c.Bind(ref loop);
        a.mov(eax, __dword_ptr[esi + Pipe.Readers]);
        a.or(eax, __dword_ptr[esi + Pipe.Writers]);
        a.jz(found);
        a.add(esi, Pipe.Size);
        a.cmp(esi, unchecked((int)PipesEnd));
        a.jb(loop);
        a.mov(eax, -Errno.EMFILE);
        a.ret();

        c.Bind(ref found);
        a.mov(edi, esi);
        a.sub(edi, Layout.PipeTable);
        a.shl(edi, 3);                         // index << 8, from offset = index * 32
        var noFd = c.NewLabel();
        a.lea(eax, __[edi + (int)FdKind.PipeRead]);
        k.Call("fd_install");
        a.test(eax, eax);
        a.js(noFd);
        a.push(eax);
        a.lea(eax, __[edi + (int)FdKind.PipeWrite]);
        k.Call("fd_install");
        a.test(eax, eax);
        var noSecond = c.NewLabel();
        a.js(noSecond);
        a.push(eax);
        a.mov(__dword_ptr[esi + Pipe.Readers], 1);
        a.mov(__dword_ptr[esi + Pipe.Writers], 1);
        a.mov(__dword_ptr[esi + Pipe.Head], 0);
        a.mov(__dword_ptr[esi + Pipe.Count], 0);
        a.mov(eax, esi);
        a.sub(eax, Layout.PipeTable);
        a.shl(eax, 12 - 5);
        a.add(eax, Layout.PipeBuffers);
        a.mov(__dword_ptr[esi + Pipe.Buffer], eax);
        // The pair goes to user memory as [read fd, write fd]: the stack holds write fd, then read fd above it.
        a.mov(eax, __dword_ptr[esp]);
        a.xchg(__dword_ptr[esp + 4], eax);
        a.mov(__dword_ptr[esp], eax);
        a.mov(eax, ebx);
        a.mov(edx, esp);
        a.mov(ecx, 8);
        k.Call("copy_to_user");
        a.test(eax, eax);
        var copied = c.NewLabel();
        a.jz(copied);
        a.pop(eax);
        k.Call("close_fd");
        a.pop(eax);
        k.Call("close_fd");
        a.mov(eax, -Errno.EFAULT);
        a.ret();
        c.Bind(ref copied);
        a.add(esp, 8);
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref noSecond);
        a.pop(ecx);
        a.mov(edx, c.Current);
        a.mov(__dword_ptr[edx + ecx * 4 + Proc.Fds], 0);
        c.Bind(ref noFd);
        a.ret();

        // close_fd(EAX = fd): as close(2), for the kernel's own error paths.
        k.Bind("close_fd");
        a.mov(edx, c.Current);
        a.lea(edx, __[edx + eax * 4 + Proc.Fds]);
        a.mov(eax, __dword_ptr[edx]);
        a.mov(__dword_ptr[edx], 0);
        k.Jmp("pipe_unref");
    }

    private static void EmitRead(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // pipe_read(ESI = pipe, EDI = user buffer, EBX = count) -> bytes read (one contiguous chunk), 0 at EOF.
        k.Bind("pipe_read");
        var wait = c.NewLabel();
        var data = c.NewLabel();
        var eof = c.NewLabel();
        var interrupted = c.NewLabel();
        a.test(ebx, ebx);
        a.jz(eof);
        c.Bind(ref wait);
        a.mov(eax, __dword_ptr[esi + Pipe.Count]);
        a.test(eax, eax);
        a.jnz(data);
        a.cmp(__dword_ptr[esi + Pipe.Writers], 0);
        a.je(eof);
        a.mov(eax, c.Current);
        a.cmp(__dword_ptr[eax + Proc.Killed], 0);
        a.jne(interrupted);
        a.mov(eax, esi);
        k.Call("sleep");
        a.jmp(wait);

        c.Bind(ref data);
        a.mov(ecx, ebx);
        EmitMin(c, ecx, eax);
        a.mov(edx, Layout.PipeSize);
        a.sub(edx, __dword_ptr[esi + Pipe.Head]);
        EmitMin(c, ecx, edx);
        a.mov(ebp, ecx);
        a.mov(eax, edi);
        a.mov(edx, __dword_ptr[esi + Pipe.Head]);
        a.add(edx, __dword_ptr[esi + Pipe.Buffer]);
        k.Call("copy_to_user");
        var fault = c.NewLabel();
        a.test(eax, eax);
        a.jnz(fault);
        a.mov(eax, __dword_ptr[esi + Pipe.Head]);
        a.add(eax, ebp);
        a.and(eax, (int)Layout.PipeSize - 1);
        a.mov(__dword_ptr[esi + Pipe.Head], eax);
        a.sub(__dword_ptr[esi + Pipe.Count], ebp);
        a.mov(eax, esi);
        k.Call("wakeup");
        a.mov(eax, ebp);
        c.Bind(ref fault);
        a.ret();
        c.Bind(ref eof);
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref interrupted);
        a.mov(eax, -Errno.EINTR);
        a.ret();
    }

    private static void EmitWrite(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // pipe_write(ESI = pipe, EDI = user buffer, EBX = count) -> bytes written (all of them unless interrupted).
        k.Bind("pipe_write");
        var loop = c.NewLabel();
        var room = c.NewLabel();
        var done = c.NewLabel();
        var broken = c.NewLabel();
        var partial = c.NewLabel();
        a.xor(ebp, ebp);
        c.Bind(ref loop);
        a.cmp(ebp, ebx);
        a.jae(done);
        a.cmp(__dword_ptr[esi + Pipe.Readers], 0);
        a.je(broken);
        a.mov(eax, __dword_ptr[esi + Pipe.Count]);
        a.cmp(eax, (int)Layout.PipeSize);
        a.jb(room);
        a.mov(eax, c.Current);
        a.cmp(__dword_ptr[eax + Proc.Killed], 0);
        a.mov(eax, -Errno.EINTR);
        a.jne(partial);
        a.mov(eax, esi);
        k.Call("wakeup");
        a.mov(eax, esi);
        k.Call("sleep");
        a.jmp(loop);

        c.Bind(ref room);
        a.mov(ecx, ebx);
        a.sub(ecx, ebp);
        a.mov(edx, Layout.PipeSize);
        a.sub(edx, eax);
        EmitMin(c, ecx, edx);
        a.add(eax, __dword_ptr[esi + Pipe.Head]);
        a.and(eax, (int)Layout.PipeSize - 1);              // the tail
        a.mov(edx, Layout.PipeSize);
        a.sub(edx, eax);
        EmitMin(c, ecx, edx);
        a.push(ecx);
        a.add(eax, __dword_ptr[esi + Pipe.Buffer]);
        a.lea(edx, __[edi + ebp]);
        k.Call("copy_from_user");
        a.pop(ecx);
        a.test(eax, eax);
        a.jnz(partial);
        a.add(__dword_ptr[esi + Pipe.Count], ecx);
        a.add(ebp, ecx);
        a.jmp(loop);

        c.Bind(ref done);
        a.mov(eax, esi);
        k.Call("wakeup");
        a.mov(eax, ebp);
        a.ret();
        c.Bind(ref broken);
        a.mov(eax, -Errno.EPIPE);
        // A write that moved some bytes reports them; otherwise the error in EAX.
        c.Bind(ref partial);
        a.test(ebp, ebp);
        a.jz(k.Label("pipe_write.error"));
        a.mov(eax, esi);
        k.Call("wakeup");
        a.mov(eax, ebp);
        k.Bind("pipe_write.error");
        a.ret();
    }

    /// <summary>target = min(target, other), unsigned.</summary>
    private static void EmitMin(KernelContext c, Iced.Intel.AssemblerRegister32 target, Iced.Intel.AssemblerRegister32 other)
    {
        var skip = c.NewLabel();
        c.A.cmp(target, other);
        c.A.jbe(skip);
        c.A.mov(target, other);
        c.Bind(ref skip);
    }
}
