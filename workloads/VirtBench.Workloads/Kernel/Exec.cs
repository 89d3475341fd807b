using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// Program images: the table of programs embedded in the kernel image, loading one into the current address
/// space (exec), and the creation of init, the first process, which runs program 0.
/// </summary>
internal static class Exec
{
    private const uint P = Layout.PtePresent, W = Layout.PteWritable, U = Layout.PteUser;
    private const uint UserEflags = 0x202;

    public static void Emit(KernelContext c)
    {
        EmitProgramTable(c);
        EmitLoad(c);
        EmitExecCall(c);
        EmitStartInit(c);
    }

    private static void EmitProgramTable(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        var programs = c.Inputs.Programs;
        for (int i = 0; i < programs.Count; i++)
            k.Bytes($"program.{i}", programs[i].Bytes);
        k.Data("program_table", () =>
        {
            for (int i = 0; i < programs.Count; i++)
            {
                a.dd(k.Addr($"program.{i}"));
                a.dd((uint)programs[i].Bytes.Length);
            }
        });
    }

    private static void EmitLoad(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // load_program(EAX = index) -> 0, or nonzero when memory ran out (the old image is gone either way).
        // Replaces the current process's user space with a fresh copy of the program, a heap and a stack.
        k.Bind("load_program");
        c.Save(ebx, esi, edi, ebp);
        a.mov(ebp, eax);
        a.mov(ebx, c.Current);
        a.mov(eax, __dword_ptr[ebx + Proc.PageDirectory]);
        k.Call("user_space_clear");
        pv.FlushTlbAll();
        pv.BeginBatch();                       // the new image's entries go in one batch (paravirt: one mmu_update)
        a.mov(eax, __dword_ptr[ebx + Proc.PageDirectory]);
        k.Call("map_vdso");
        var fail = c.NewLabel();
        a.test(eax, eax);
        a.jnz(fail);

        a.lea(edi, __[ebx + Proc.Vmas]);
        a.xor(eax, eax);
        a.mov(ecx, Vma.Count * Vma.Size / 4);
        a.rep.stosd();
        a.mov(__dword_ptr[ebx + Proc.CatchAddress], 0);
        a.mov(esi, __dword_ptr[ebp * 8 + k.Addr("program_table")]);
        a.mov(ecx, __dword_ptr[ebp * 8 + k.Addr("program_table") + 4]);
        a.lea(edx, __[ecx + (int)(Layout.ProgramBase + Layout.Page - 1)]);
        a.and(edx, unchecked((int)Layout.FrameMask));
        SetVma(c, Vma.Image, Layout.ProgramBase, edx);
        SetVma(c, Vma.Heap, null, edx);
        a.mov(__dword_ptr[ebx + Proc.Vmas + Vma.Heap * Vma.Size + Vma.Start], edx);
        a.mov(__dword_ptr[ebx + Proc.HeapStart], edx);
        a.mov(__dword_ptr[ebx + Proc.Brk], edx);
        a.mov(edx, Layout.StackTop);
        SetVma(c, Vma.Stack, Layout.StackBottom, edx);

        // Copy the image page by page: ESI = source, EBP = bytes left, EDI = user address.
        a.mov(ebp, ecx);
        a.mov(edi, Layout.ProgramBase);
        var page = c.NewLabel();
        var done = c.NewLabel();
        c.Bind(ref page);
        a.test(ebp, ebp);
        a.jz(done);
        k.Call("frame_alloc_zeroed");
        a.test(eax, eax);
        a.jz(fail);
        c.Save(eax, edi);
        a.mov(edi, eax);
        a.mov(ecx, ebp);
        var full = c.NewLabel();
        a.cmp(ecx, (int)Layout.Page);
        a.jbe(full);
        a.mov(ecx, Layout.Page);
        c.Bind(ref full);
        a.sub(ebp, ecx);
        a.rep.movsb();
        a.pop(edi);
        a.mov(eax, __dword_ptr[ebx + Proc.PageDirectory]);
        a.mov(edx, edi);
        k.Call("pte_lookup_create");
        a.pop(edx);
        a.test(eax, eax);
        var mapped = c.NewLabel();
        a.jnz(mapped);
        a.mov(eax, edx);
        k.Call("frame_put");
        a.jmp(fail);
        c.Bind(ref mapped);
        a.or(edx, P | U | W);
        pv.QueueEntry(eax, edx);
        a.add(edi, (int)Layout.Page);
        a.jmp(page);
        c.Bind(ref done);
        a.xor(eax, eax);
        var ret = c.NewLabel();
        a.jmp(ret);
        c.Bind(ref fail);
        a.mov(eax, 1);
        c.Bind(ref ret);
        pv.EndBatch();
        c.Return(ebx, esi, edi, ebp);
    }

    /// <summary>Sets a VMA of the process in EBX to [start, end) used and writable (start null: left as is).</summary>
    private static void SetVma(KernelContext c, int index, uint? start, Iced.Intel.AssemblerRegister32 end)
    {
        var a = c.A;
        int vma = Proc.Vmas + index * Vma.Size;
        if (start is uint s) a.mov(__dword_ptr[ebx + vma + Vma.Start], unchecked((int)s));
        a.mov(__dword_ptr[ebx + vma + Vma.End], end);
        a.mov(__dword_ptr[ebx + vma + Vma.Flags], (int)(Vma.Used | Vma.Writable));
    }

    /// <summary>Points the trap frame at EBP to the start of a freshly loaded program (registers zero).</summary>
    private static void EmitFreshFrame(KernelContext c)
    {
        var a = c.A;
        a.push(edi);
        a.mov(edi, ebp);
        a.xor(eax, eax);
        a.mov(ecx, Frame.Size / 4);
        a.rep.stosd();
        a.pop(edi);
        a.mov(__dword_ptr[ebp + Frame.Ds], Selector.UserData);
        a.mov(__dword_ptr[ebp + Frame.Es], Selector.UserData);
        a.mov(__dword_ptr[ebp + Frame.Eip], unchecked((int)Layout.ProgramBase));
        a.mov(__dword_ptr[ebp + Frame.Cs], Selector.UserCode);
        a.mov(__dword_ptr[ebp + Frame.Eflags], (int)UserEflags);
        a.mov(__dword_ptr[ebp + Frame.Esp], unchecked((int)Layout.StackTop));
        a.mov(__dword_ptr[ebp + Frame.Ss], Selector.UserData);
    }

    private static void EmitExecCall(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // sys_exec(EBX = program, ECX = argument): the new program starts with EAX = argument.
        k.Bind("sys_exec");
        var invalid = c.NewLabel();
        a.cmp(ebx, c.Inputs.Programs.Count);
        a.jae(invalid);
        a.push(ecx);
        a.mov(eax, ebx);
        k.Call("load_program");
        var loaded = c.NewLabel();
        a.test(eax, eax);
        a.jz(loaded);
        c.Print("exec: out of memory\n");
        a.mov(eax, ExitStatus.Killed);
        k.Call("do_exit");
        c.Bind(ref loaded);
        EmitFreshFrame(c);
        a.pop(eax);
        a.ret();
        c.Bind(ref invalid);
        a.mov(eax, -Errno.EINVAL);
        a.ret();
    }

    private static void EmitStartInit(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // start_init: process 1 in slot 0 runs program 0 with the console on descriptors 0, 1 and 2.
        k.Bind("start_init");
        k.Call("proc_alloc");
        a.mov(ebx, eax);
        a.mov(c.Current, ebx);
        k.Call("pd_create");
        var ok = c.NewLabel();
        a.test(eax, eax);
        a.jnz(ok);
        c.Panic("no memory for init");
        c.Bind(ref ok);
        a.mov(__dword_ptr[ebx + Proc.PageDirectory], eax);
        pv.LoadCr3(eax);
        a.mov(eax, __dword_ptr[ebx + Proc.StackTop]);
        a.mov(k.Var("current_stack_top"), eax);
        pv.SetKernelStack(eax);
        for (int fd = 0; fd < 3; fd++) a.mov(__dword_ptr[ebx + Proc.Fds + fd * 4], (int)FdKind.Console);
        a.xor(eax, eax);
        k.Call("load_program");
        var loaded = c.NewLabel();
        a.test(eax, eax);
        a.jz(loaded);
        c.Panic("no memory for init");
        c.Bind(ref loaded);
        a.mov(ebp, __dword_ptr[ebx + Proc.StackTop]);
        a.sub(ebp, Frame.Size);
        EmitFreshFrame(c);
        a.mov(__dword_ptr[ebx + Proc.State], (int)Proc.Runnable);
        a.mov(esp, ebp);
        k.Jmp("ret_to_user");
    }
}
