using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// Boot and the ways into and out of the kernel: multiboot entry, GDT/IDT/TSS, the exception and interrupt stubs,
/// <c>int 0x80</c> and <c>sysenter</c> entries, and the common return path that reschedules and delivers kills.
/// </summary>
internal static class Entry
{
    /// <summary>Vectors for which the CPU pushes an error code.</summary>
    private static readonly int[] ErrorCodeVectors = [8, 10, 11, 12, 13, 14, 17];

    /// <summary>Exceptions (0..31) and remapped IRQs (0x20..0x2F) that have stubs.</summary>
    public const int StubVectors = 48;

    public const int SyscallVector = 0x80, IrqBase = 0x20;
    private const int MsrSysenterCs = 0x174, MsrSysenterEsp = 0x175, MsrSysenterEip = 0x176;
    private const uint UserEflags = 0x202;

    public static void Emit(KernelContext c)
    {
        EmitBoot(c);
        EmitStubs(c);
        EmitSyscallEntries(c);
        EmitReturnPaths(c);
        EmitDescriptorTables(c);
    }

    private static void EmitBoot(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        k.Bind("kernel_entry");
        pv.IrqDisable();
        a.mov(esp, Layout.BootStackTop);
        a.cld();
        a.mov(esi, eax);
        a.mov(edi, ebx);
        k.Call("uart_init");
        c.Print("VirtBench guest kernel\n");

        var magicOk = c.NewLabel();
        a.cmp(esi, unchecked((int)Platform.MultibootBootMagic));
        a.je(magicOk);
        c.Panic("not started by a multiboot loader");
        c.Bind(ref magicOk);
        // The kernel manages a fixed 32 MiB so that every machine behaves the same; it only checks that they exist.
        var memoryOk = c.NewLabel();
        var noMemory = c.NewLabel();
        a.test(__dword_ptr[edi], 1);
        a.jz(noMemory);
        a.cmp(__dword_ptr[edi + 8], (int)((Layout.KernelRam >> 10) - 1024));
        a.jae(memoryOk);
        c.Bind(ref noMemory);
        c.Panic("the kernel needs 32 MiB of RAM");
        c.Bind(ref memoryOk);

        pv.LoadDescriptorTables(k.Addr("gdt_pointer"), k.Addr("idt_pointer"), Selector.Tss);
        k.Call("pic_init");
        k.Call("pit_init");
        k.Call("paging_init");
        k.Call("frames_init");
        pv.WriteMsr(MsrSysenterCs, Selector.KernelCode);
        pv.WriteMsr(MsrSysenterEsp, Layout.SysenterStackTop);
        pv.WriteMsr(MsrSysenterEip, k.Addr("sysenter_entry"));
        k.Call("vdso_init");
        k.Jmp("start_init");
    }

    private static void EmitStubs(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        for (int vector = 0; vector < StubVectors; vector++)
        {
            k.Bind($"vector.{vector}");
            if (!ErrorCodeVectors.Contains(vector)) a.push(0);
            a.push(vector);
            k.Jmp("exception_common");
        }

        k.Bind("exception_common");
        c.SaveAll();
        a.mov(ebp, esp);
        a.mov(eax, __dword_ptr[esp + Frame.Vector]);
        a.call(__dword_ptr[eax * 4 + k.Addr("handler_table")]);
        k.Jmp("ret_from_exception");

        k.Data("handler_table", () =>
        {
            for (int vector = 0; vector < StubVectors; vector++)
            {
                string handler = vector switch
                {
                    14 => "page_fault",
                    IrqBase => "timer_interrupt",
                    IrqBase + 7 or IrqBase + 15 => "irq_spurious",
                    >= IrqBase => "irq_other",
                    _ => "fault_handler",
                };
                a.dd(k.Addr(handler));
            }
        });
    }

    private static void EmitSyscallEntries(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);

        // int 0x80: a DPL-3 trap gate, so interrupts stay enabled in system calls (the kernel is not preemptible:
        // a timer tick only sets need_resched, which the return path honours).
        k.Bind("syscall_entry");
        a.push(0);
        a.push(SyscallVector);
        c.SaveAll();
        k.Call("syscall_dispatch");
        k.Jmp("ret_to_user");

        k.Bind("syscall_dispatch");
        var known = c.NewLabel();
        a.cmp(eax, (int)Sys.Count);
        a.jb(known);
        a.mov(eax, -Errno.ENOSYS);
        a.mov(__dword_ptr[esp + 4 + Frame.Eax], eax);
        a.ret();
        c.Bind(ref known);
        a.lea(ebp, __[esp + 4]);
        a.call(__dword_ptr[eax * 4 + k.Addr("syscall_table")]);
        a.mov(__dword_ptr[esp + 4 + Frame.Eax], eax);
        a.ret();

        // sysenter (from the vDSO stub, user ESP in EBP): build the same frame as int 0x80 on the process's kernel
        // stack, then leave by sysexit when there is nothing to do on the way out.
        k.Bind("sysenter_entry");
        // DS is still the user's (it may be null): read through SS, which sysenter loaded.
        a.mov(esp, __dword_ptr.ss[k.Addr("current_stack_top")]);
        a.push(Selector.UserData);
        a.push(ebp);
        a.push(unchecked((int)UserEflags));
        a.push(Selector.UserCode);
        a.push(unchecked((int)c.Inputs.Vdso["vdso.sysenter_return"]));
        a.push(0);
        a.push(SyscallVector);
        c.SaveAll();
        pv.IrqEnable();
        k.Call("syscall_dispatch");
        pv.IrqDisable();
        var slow = c.NewLabel();
        a.cmp(k.Var("need_resched"), 0);
        a.jne(slow);
        a.mov(eax, c.Current);
        a.cmp(__dword_ptr[eax + Proc.Killed], 0);
        a.jne(slow);
        c.RestoreAll();
        a.mov(edx, __dword_ptr[esp]);
        a.mov(ecx, __dword_ptr[esp + (Frame.Esp - Frame.Eip)]);
        pv.SysExit();
        c.Bind(ref slow);
        k.Jmp("ret_to_user_work");
    }

    private static void EmitReturnPaths(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);

        k.Bind("ret_from_exception");
        var restore = k.Label("restore_all");
        c.JumpIfKernelFrame(esp, restore);

        // Back to user mode: with interrupts off, honour a kill and a pending reschedule, then iret.
        k.Bind("ret_to_user");
        pv.IrqDisable();
        k.Bind("ret_to_user_work");
        var killed = c.NewLabel();
        var resched = c.NewLabel();
        a.mov(eax, c.Current);
        a.cmp(__dword_ptr[eax + Proc.Killed], 0);
        a.jne(killed);
        a.cmp(k.Var("need_resched"), 0);
        a.jne(resched);
        k.Bind("restore_all");
        c.RestoreAll();
        pv.InterruptReturn();

        c.Bind(ref resched);
        k.Call("schedule");
        k.Jmp("ret_to_user");

        c.Bind(ref killed);
        pv.IrqEnable();
        a.mov(eax, ExitStatus.Killed);
        k.Call("do_exit");

        // A new process (fork) starts here on its own kernel stack, its trap frame on top.
        k.Bind("ret_from_fork");
        k.Jmp("ret_to_user");
    }

    private static void EmitDescriptorTables(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // The IDT and GDT have a page of their own, as in Linux: VMMs write-protect these pages to trace them, so
        // no frequently written kernel data may share them. The TSS (ESP0 changes at every switch) starts the next page.
        k.Data("idt", () =>
        {
            for (int vector = 0; vector < 256; vector++)
            {
                string? handler = vector < StubVectors ? $"vector.{vector}" : vector == SyscallVector ? "syscall_entry" : null;
                if (handler is null) { a.dd(0u); a.dd(0u); continue; }
                uint offset = k.Addr(handler);
                uint kind = vector == SyscallVector ? 0xEF00u : 0x8E00u;   // trap gate DPL 3 / interrupt gate DPL 0
                a.dd(((uint)Selector.KernelCode << 16) | (offset & 0xFFFF));
                a.dd((offset & 0xFFFF_0000) | kind);
            }
        }, Layout.Page);
        k.Data("idt_pointer", () => { a.dw(256 * 8 - 1); a.dd(k.Addr("idt")); });
        uint tss = k.Addr("tss");
        k.Data("gdt", () =>
        {
            a.dd(0u); a.dd(0u);
            a.dd(0x0000FFFFu); a.dd(0x00CF9A00u);   // 0x08 kernel code
            a.dd(0x0000FFFFu); a.dd(0x00CF9200u);   // 0x10 kernel data
            a.dd(0x0000FFFFu); a.dd(0x00CFFA00u);   // 0x18 user code (DPL 3)
            a.dd(0x0000FFFFu); a.dd(0x00CFF200u);   // 0x20 user data (DPL 3)
            a.dd((tss << 16) | (TssBytes - 1));      // 0x28 TSS: 32-bit available, DPL 0
            a.dd((tss & 0xFF00_0000) | 0x0000_8900 | ((tss >> 16) & 0xFF));
        });
        k.Data("gdt_pointer", () => { a.dw(6 * 8 - 1); a.dd(k.Addr("gdt")); });

        k.Data("tss", () =>
        {
            var bytes = new byte[TssBytes];
            BitConverter.TryWriteBytes(bytes.AsSpan(4), Layout.BootStackTop);   // esp0
            BitConverter.TryWriteBytes(bytes.AsSpan(8), (uint)Selector.KernelData); // ss0
            BitConverter.TryWriteBytes(bytes.AsSpan(102), (ushort)TssBytes);    // no I/O bitmap
            a.db(bytes);
        }, Layout.Page);
    }

    private const uint TssBytes = 104;
}
