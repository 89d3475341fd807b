using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// Exception and interrupt handlers (entered with EBP = trap frame): page faults (demand-zero, copy-on-write,
/// user-copy fixups), fatal user exceptions (caught or killed with a message), the timer, and kernel panics.
/// </summary>
internal static class Traps
{
    private static readonly string[] ExceptionNames =
    [
        "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded", "invalid opcode",
        "device not available", "double fault", "coprocessor segment overrun", "invalid TSS", "segment not present",
        "stack fault", "general protection fault", "page fault", "reserved", "x87 error", "alignment check",
        "machine check", "SIMD error",
    ];

    private const int PageFaultVector = 14;

    public static void Emit(KernelContext c)
    {
        EmitPageFault(c);
        EmitFatalFaults(c);
        EmitInterrupts(c);
        EmitPanic(c);
    }

    private static void EmitPageFault(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        k.Bind("page_fault");
        pv.ReadFaultAddress(esi);
        var kernelMode = c.NewLabel();
        c.JumpIfKernelFrame(ebp, kernelMode);
        a.mov(eax, esi);
        a.mov(edx, __dword_ptr[ebp + Frame.Error]);
        k.Call("handle_fault");
        var unresolved = c.NewLabel();
        a.test(eax, eax);
        a.jnz(unresolved);
        a.ret();
        c.Bind(ref unresolved);
        a.mov(eax, PageFaultVector);
        a.mov(edx, esi);
        k.Jmp("user_fault");

        // In the kernel, only the user-copy instructions may fault (on user addresses): resolve the fault like a
        // user access, or resume at the copy's fixup, which returns -EFAULT. Anything else is a kernel bug.
        c.Bind(ref kernelMode);
        var panic = c.NewLabel();
        a.cmp(esi, unchecked((int)Layout.UserBase));
        a.jb(panic);
        a.cmp(esi, unchecked((int)Layout.UserTop));
        a.jae(panic);
        a.mov(eax, __dword_ptr[ebp + Frame.Eip]);
        k.Call("exception_fixup");
        a.test(eax, eax);
        a.jz(panic);
        a.mov(edi, eax);
        a.mov(eax, esi);
        a.mov(edx, __dword_ptr[ebp + Frame.Error]);
        k.Call("handle_fault");
        var retry = c.NewLabel();
        a.test(eax, eax);
        a.jz(retry);
        a.mov(__dword_ptr[ebp + Frame.Eip], edi);
        c.Bind(ref retry);
        a.ret();
        c.Bind(ref panic);
        c.Print("kernel panic: page fault at ");
        a.mov(eax, esi);
        k.Call("print_hex");
        k.Jmp("panic_eip");
    }

    private static void EmitFatalFaults(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        k.Bind("fault_handler");
        var kernelMode = c.NewLabel();
        c.JumpIfKernelFrame(ebp, kernelMode);
        a.mov(eax, __dword_ptr[ebp + Frame.Vector]);
        a.xor(edx, edx);
        k.Jmp("user_fault");
        c.Bind(ref kernelMode);
        c.Print("kernel panic: ");
        a.mov(eax, __dword_ptr[ebp + Frame.Vector]);
        a.mov(eax, __dword_ptr[eax * 4 + k.Addr("exception_names")]);
        k.Call("print_str");
        k.Jmp("panic_eip");

        // user_fault(EAX = vector, EDX = fault address): resume at the process's catch address, or kill it.
        k.Bind("user_fault");
        a.mov(ebx, c.Current);
        var kill = c.NewLabel();
        a.mov(ecx, __dword_ptr[ebx + Proc.CatchAddress]);
        a.test(ecx, ecx);
        a.jz(kill);
        a.mov(__dword_ptr[ebp + Frame.Eax], eax);
        a.mov(eax, __dword_ptr[ebp + Frame.Eip]);
        a.mov(__dword_ptr[ebp + Frame.Edx], eax);
        a.mov(__dword_ptr[ebp + Frame.Eip], ecx);
        a.ret();

        c.Bind(ref kill);
        a.mov(esi, eax);
        a.mov(edi, edx);
        c.Print("killed pid ");
        a.mov(eax, __dword_ptr[ebx + Proc.Pid]);
        k.Call("print_dec");
        c.Print(": ");
        a.mov(eax, __dword_ptr[esi * 4 + k.Addr("exception_names")]);
        k.Call("print_str");
        var noAddress = c.NewLabel();
        a.cmp(esi, PageFaultVector);
        a.jne(noAddress);
        c.Print(" at ");
        a.mov(eax, edi);
        k.Call("print_hex");
        c.Bind(ref noAddress);
        c.Print(" (eip ");
        a.mov(eax, __dword_ptr[ebp + Frame.Eip]);
        k.Call("print_hex");
        c.Print(")\n");
        a.lea(eax, __[esi + (int)ExitStatus.FaultBase]);
        k.Call("do_exit");

        k.Data("exception_names", () =>
        {
            for (int v = 0; v < 32; v++)
                a.dd(k.String(v < ExceptionNames.Length ? ExceptionNames[v] : "reserved exception"));
        });
    }

    private static void EmitInterrupts(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // The timer only counts and asks for a reschedule; output never depends on when it fires.
        k.Bind("timer_interrupt");
        a.inc(k.Var("ticks"));
        a.mov(k.Var("need_resched"), 1);
        c.OutByte(Platform.PicMasterCommand, 0x20);
        a.ret();

        k.Bind("irq_other");
        var masterOnly = c.NewLabel();
        a.cmp(__dword_ptr[ebp + Frame.Vector], Entry.IrqBase + 8);
        a.jb(masterOnly);
        c.OutByte(Platform.PicSlaveCommand, 0x20);
        c.Bind(ref masterOnly);
        c.OutByte(Platform.PicMasterCommand, 0x20);
        k.Bind("irq_spurious");
        a.ret();

        k.Dword("ticks");
        k.Dword("need_resched");
    }

    private static void EmitPanic(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // panic_eip: finishes a panic line that the caller started with the trap frame's EIP (EBP = frame).
        k.Bind("panic_eip");
        c.Print(" (eip ");
        a.mov(eax, __dword_ptr[ebp + Frame.Eip]);
        k.Call("print_hex");
        c.Print(")\n");
        a.mov(eax, 2);
        k.Jmp("shutdown");

        // panic(EAX = message).
        k.Bind("panic");
        a.mov(esi, eax);
        c.Print("kernel panic: ");
        a.mov(eax, esi);
        k.Call("print_str");
        c.Print("\n");
        a.mov(eax, 2);
        k.Jmp("shutdown");
    }
}
