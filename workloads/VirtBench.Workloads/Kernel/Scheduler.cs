using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// Processes: the process table, round-robin scheduling with timer preemption (at the return to user mode; the
/// kernel itself is not preemptible), context switches, sleep/wakeup on channels, and fork, exit, waitpid, kill,
/// yield and getpid.
/// </summary>
internal static class Scheduler
{
    private const uint TableEnd = Layout.ProcessTable + Layout.MaxProcesses * Proc.Size;

    public static void Emit(KernelContext c)
    {
        EmitProcessTable(c);
        EmitSchedule(c);
        EmitSleepWakeup(c);
        EmitFork(c);
        EmitExit(c);
        EmitWaitKill(c);
    }

    private static void EmitProcessTable(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        k.Dword("current");
        k.Dword("current_stack_top");
        k.Dword("next_pid", 1);

        // proc_alloc() -> EAX = a zeroed free slot with a pid and a kernel stack (still Free until set), or 0.
        k.Bind("proc_alloc");
        var found = c.NewLabel();
        c.ForEachProcess(eax, _ =>
        {
            a.cmp(__dword_ptr[eax + Proc.State], (int)Proc.Free);
            a.je(found);
        });
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref found);
        a.push(edi);
        a.mov(edi, eax);
        a.mov(edx, eax);
        a.xor(eax, eax);
        a.mov(ecx, Proc.Size / 4);
        a.rep.stosd();
        a.pop(edi);
        a.mov(eax, edx);
        a.sub(eax, Layout.ProcessTable);
        a.shl(eax, 4);                                      // slot * 512 * 16 = slot * 8 KiB
        a.add(eax, Layout.KernelStacks + Layout.KernelStackSize);
        a.mov(__dword_ptr[edx + Proc.StackTop], eax);
        a.mov(eax, k.Var("next_pid"));
        a.mov(__dword_ptr[edx + Proc.Pid], eax);
        a.inc(k.Var("next_pid"));
        a.mov(eax, edx);
        a.ret();

        // count_slots(EAX = state) -> the number of process slots in that state.
        k.Bind("count_slots");
        a.xor(edx, edx);
        c.ForEachProcess(ecx, next =>
        {
            a.cmp(__dword_ptr[ecx + Proc.State], eax);
            a.jne(next);
            a.inc(edx);
        });
        a.mov(eax, edx);
        a.ret();
    }

    private static void EmitSchedule(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // schedule(): runs the next runnable process after the current one (round robin), idling while none is.
        k.Bind("schedule");
        c.Save(ebx, esi, ebp);
        pv.IrqSave(ebp);
        a.mov(esi, c.Current);
        var search = c.NewLabel();
        var next = c.NewLabel();
        var noWrap = c.NewLabel();
        var found = c.NewLabel();
        var same = c.NewLabel();
        c.Bind(ref search);
        a.mov(ebx, esi);
        a.mov(ecx, Layout.MaxProcesses);
        c.Bind(ref next);
        a.add(ebx, Proc.Size);
        a.cmp(ebx, unchecked((int)TableEnd));
        a.jb(noWrap);
        a.mov(ebx, Layout.ProcessTable);
        c.Bind(ref noWrap);
        a.cmp(__dword_ptr[ebx + Proc.State], (int)Proc.Runnable);
        a.je(found);
        a.dec(ecx);
        a.jnz(next);
        pv.Halt();
        pv.IrqDisable();
        a.jmp(search);
        c.Bind(ref found);
        a.mov(k.Var("need_resched"), 0);
        a.cmp(ebx, esi);
        a.je(same);
        a.mov(eax, esi);
        a.mov(edx, ebx);
        k.Call("switch_to");
        c.Bind(ref same);
        pv.IrqRestore(ebp);
        c.Return(ebx, esi, ebp);

        // switch_to(EAX = previous, EDX = next): saves the callee-saved registers on the previous kernel stack,
        // resumes the next one where it switched away (or at ret_from_fork), in its address space.
        k.Bind("switch_to");
        c.Save(ebp, ebx, esi, edi);
        a.mov(__dword_ptr[eax + Proc.SavedEsp], esp);
        a.mov(esp, __dword_ptr[edx + Proc.SavedEsp]);
        a.mov(c.Current, edx);
        a.mov(eax, __dword_ptr[edx + Proc.StackTop]);
        a.mov(k.Var("current_stack_top"), eax);
        pv.SetKernelStack(eax);
        a.mov(eax, __dword_ptr[edx + Proc.PageDirectory]);
        pv.LoadCr3(eax);
        c.Return(ebp, ebx, esi, edi);

        k.Bind("sys_yield");
        k.Call("schedule");
        a.xor(eax, eax);
        a.ret();

        k.Bind("sys_getpid");
        a.mov(eax, c.Current);
        a.mov(eax, __dword_ptr[eax + Proc.Pid]);
        a.ret();
    }

    private static void EmitSleepWakeup(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // sleep(EAX = channel): blocks until a wakeup on the channel (or a kill); callers re-check their condition.
        k.Bind("sleep");
        a.push(ebx);
        pv.IrqSave(ebx);
        a.mov(edx, c.Current);
        a.mov(__dword_ptr[edx + Proc.WaitChannel], eax);
        a.mov(__dword_ptr[edx + Proc.State], (int)Proc.Sleeping);
        k.Call("schedule");
        pv.IrqRestore(ebx);
        a.pop(ebx);
        a.ret();

        // wakeup(EAX = channel): makes every process sleeping on it runnable.
        k.Bind("wakeup");
        a.push(ebx);
        pv.IrqSave(ebx);
        c.ForEachProcess(ecx, next =>
        {
            a.cmp(__dword_ptr[ecx + Proc.State], (int)Proc.Sleeping);
            a.jne(next);
            a.cmp(__dword_ptr[ecx + Proc.WaitChannel], eax);
            a.jne(next);
            a.mov(__dword_ptr[ecx + Proc.State], (int)Proc.Runnable);
            a.mov(__dword_ptr[ecx + Proc.WaitChannel], 0);
        });
        pv.IrqRestore(ebx);
        a.pop(ebx);
        a.ret();
    }

    private static void EmitFork(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        const int inherited = Proc.CatchAddress, inheritedEnd = Proc.Fds + Layout.MaxFds * 4;
        const int switchFrame = 20;   // edi, esi, ebx, ebp, return address

        // sys_fork (EBP = the parent's trap frame) -> child pid; the child returns 0 from the same frame.
        k.Bind("sys_fork");
        var noSlot = c.NewLabel();
        var noMemory = c.NewLabel();
        k.Call("proc_alloc");
        a.test(eax, eax);
        a.jz(noSlot);
        a.mov(ebx, eax);
        k.Call("pd_create");
        a.test(eax, eax);
        a.jz(noMemory);
        a.mov(__dword_ptr[ebx + Proc.PageDirectory], eax);
        a.mov(esi, c.Current);
        a.mov(__dword_ptr[ebx + Proc.Parent], esi);
        a.lea(esi, __[esi + inherited]);
        a.lea(edi, __[ebx + inherited]);
        a.mov(ecx, (inheritedEnd - inherited) / 4);
        a.rep.movsd();
        a.mov(eax, ebx);
        k.Call("fds_dup");
        a.mov(eax, c.Current);
        a.mov(eax, __dword_ptr[eax + Proc.PageDirectory]);
        a.mov(edx, __dword_ptr[ebx + Proc.PageDirectory]);
        k.Call("address_space_copy");
        var copied = c.NewLabel();
        a.test(eax, eax);
        a.jz(copied);
        a.mov(eax, ebx);
        k.Call("fds_close_all");
        a.mov(eax, __dword_ptr[ebx + Proc.PageDirectory]);
        k.Call("address_space_free");
        a.jmp(noMemory);

        c.Bind(ref copied);
        a.mov(edi, __dword_ptr[ebx + Proc.StackTop]);
        a.sub(edi, Frame.Size);
        a.push(edi);
        a.mov(esi, ebp);
        a.mov(ecx, Frame.Size / 4);
        a.rep.movsd();
        a.pop(edi);
        a.mov(__dword_ptr[edi + Frame.Eax], 0);
        a.sub(edi, switchFrame);
        a.xor(eax, eax);
        a.mov(__dword_ptr[edi], eax);
        a.mov(__dword_ptr[edi + 4], eax);
        a.mov(__dword_ptr[edi + 8], eax);
        a.mov(__dword_ptr[edi + 12], eax);
        a.mov(__dword_ptr[edi + 16], k.Addr("ret_from_fork"));
        a.mov(__dword_ptr[ebx + Proc.SavedEsp], edi);
        a.mov(__dword_ptr[ebx + Proc.State], (int)Proc.Runnable);
        a.mov(eax, __dword_ptr[ebx + Proc.Pid]);
        a.ret();
        c.Bind(ref noMemory);
        a.mov(eax, -Errno.ENOMEM);
        a.ret();
        c.Bind(ref noSlot);
        a.mov(eax, -Errno.EAGAIN);
        a.ret();
    }

    private static void EmitExit(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        k.Bind("sys_exit");
        a.mov(eax, ebx);
        a.and(eax, 0xFF);
        k.Call("do_exit");

        // do_exit(EAX = wait status): never returns. Init's exit ends the run.
        k.Bind("do_exit");
        var init = c.NewLabel();
        a.mov(esi, c.Current);
        a.mov(__dword_ptr[esi + Proc.ExitStatus], eax);
        a.cmp(__dword_ptr[esi + Proc.Pid], 1);
        a.je(init);
        a.mov(eax, esi);
        k.Call("fds_close_all");
        a.mov(eax, Layout.SwapperPageDirectory);
        pv.LoadCr3(eax);
        a.mov(eax, __dword_ptr[esi + Proc.PageDirectory]);
        a.mov(__dword_ptr[esi + Proc.PageDirectory], Layout.SwapperPageDirectory);
        k.Call("address_space_free");
        // Orphans go to init (slot 0), which may have to reap them.
        c.ForEachProcess(ecx, next =>
        {
            a.cmp(__dword_ptr[ecx + Proc.Parent], esi);
            a.jne(next);
            a.mov(__dword_ptr[ecx + Proc.Parent], Layout.ProcessTable);
        });
        a.mov(eax, Layout.ProcessTable);
        k.Call("wakeup");
        a.mov(__dword_ptr[esi + Proc.State], (int)Proc.Zombie);
        a.mov(eax, __dword_ptr[esi + Proc.Parent]);
        k.Call("wakeup");
        k.Call("schedule");
        c.Panic("a zombie was scheduled");

        c.Bind(ref init);
        var failed = c.NewLabel();
        a.test(eax, eax);
        a.jnz(failed);
        k.Jmp("shutdown");
        c.Bind(ref failed);
        a.mov(esi, eax);
        c.Print("init exited with status ");
        a.mov(eax, esi);
        k.Call("print_dec");
        c.Print("\n");
        a.mov(eax, 1);
        k.Jmp("shutdown");
    }

    private static void EmitWaitKill(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // sys_waitpid(EBX = pid or -1, ECX = status pointer or 0) -> the reaped child's pid.
        k.Bind("sys_waitpid");
        a.mov(esi, ebx);
        a.mov(edi, ecx);
        var again = c.NewLabel();
        var reap = c.NewLabel();
        var noChild = c.NewLabel();
        var interrupted = c.NewLabel();
        c.Bind(ref again);
        a.xor(ebx, ebx);
        a.mov(eax, c.Current);
        c.ForEachProcess(ecx, next =>
        {
            var match = c.NewLabel();
            a.cmp(__dword_ptr[ecx + Proc.State], (int)Proc.Free);
            a.je(next);
            a.cmp(__dword_ptr[ecx + Proc.Parent], eax);
            a.jne(next);
            a.cmp(esi, -1);
            a.je(match);
            a.cmp(__dword_ptr[ecx + Proc.Pid], esi);
            a.jne(next);
            c.Bind(ref match);
            a.mov(ebx, 1);
            a.cmp(__dword_ptr[ecx + Proc.State], (int)Proc.Zombie);
            a.je(reap);
        });
        a.test(ebx, ebx);
        a.jz(noChild);
        a.cmp(__dword_ptr[eax + Proc.Killed], 0);
        a.jne(interrupted);
        k.Call("sleep");
        a.jmp(again);

        c.Bind(ref reap);
        a.mov(__dword_ptr[ecx + Proc.State], (int)Proc.Free);
        a.push(__dword_ptr[ecx + Proc.Pid]);
        a.push(__dword_ptr[ecx + Proc.ExitStatus]);
        var noStatus = c.NewLabel();
        a.test(edi, edi);
        a.jz(noStatus);
        a.mov(eax, edi);
        a.mov(edx, esp);
        a.mov(ecx, 4);
        k.Call("copy_to_user");
        a.test(eax, eax);
        a.jz(noStatus);
        a.add(esp, 8);
        a.mov(eax, -Errno.EFAULT);
        a.ret();
        c.Bind(ref noStatus);
        a.add(esp, 4);
        a.pop(eax);
        a.ret();
        c.Bind(ref noChild);
        a.mov(eax, -Errno.ECHILD);
        a.ret();
        c.Bind(ref interrupted);
        a.mov(eax, -Errno.EINTR);
        a.ret();

        // sys_kill(EBX = pid): marks a live process killed (it exits at its next return to user mode).
        k.Bind("sys_kill");
        var kFound = c.NewLabel();
        c.ForEachProcess(ecx, next =>
        {
            a.mov(eax, __dword_ptr[ecx + Proc.State]);
            a.cmp(eax, (int)Proc.Free);
            a.je(next);
            a.cmp(eax, (int)Proc.Zombie);
            a.je(next);
            a.cmp(__dword_ptr[ecx + Proc.Pid], ebx);
            a.je(kFound);
        });
        a.mov(eax, -Errno.ESRCH);
        a.ret();
        c.Bind(ref kFound);
        a.mov(__dword_ptr[ecx + Proc.Killed], 1);
        var awake = c.NewLabel();
        a.cmp(eax, (int)Proc.Sleeping);
        a.jne(awake);
        a.mov(__dword_ptr[ecx + Proc.State], (int)Proc.Runnable);
        c.Bind(ref awake);
        a.xor(eax, eax);
        a.ret();
    }
}
