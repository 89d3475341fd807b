using Iced.Intel;
using VirtBench.Workloads.Assembly;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// What every kernel subsystem emits with: the builder, the pv-ops seam, the embedded programs, and the few
/// emission idioms the kernel repeats.
/// </summary>
/// <remarks>
/// Calling convention of kernel routines (as Linux's regparm(3)): arguments in EAX, EDX, ECX; result in EAX;
/// EBX, ESI, EDI, EBP preserved; EAX, ECX, EDX clobbered. System call handlers are entered with the user's
/// arguments in EBX, ECX, EDX, ESI, EDI and EBP pointing at the trap frame, may clobber every register, and
/// return the result in EAX.
/// </remarks>
internal sealed class KernelContext(CodeBuilder builder, PvOps.PvOps pv, KernelInputs inputs)
{
    /// <summary>The builder.</summary>
    public CodeBuilder K { get; } = builder;

    /// <summary>The raw assembler.</summary>
    public Assembler A => K.A;

    /// <summary>The pv-ops seam.</summary>
    public PvOps.PvOps Pv { get; } = pv;

    /// <summary>The programs and vDSO embedded in the image.</summary>
    public KernelInputs Inputs { get; } = inputs;

    /// <summary>The current process (a pointer into the process table).</summary>
    public AssemblerMemoryOperand Current => K.Var("current");

    /// <summary>A fresh local label.</summary>
    public Label NewLabel() => K.NewLabel();

    /// <summary>Binds a local label.</summary>
    public void Bind(ref Label label) => K.Bind(ref label);

    /// <summary>Prints a constant string on the console. Clobbers EAX, ECX, EDX.</summary>
    public void Print(string text)
    {
        A.mov(eax, K.String(text));
        K.Call("print_str");
    }

    /// <summary>Stops the kernel with a message; the jump target of failed checks.</summary>
    public void Panic(string reason)
    {
        A.mov(eax, K.String(reason));
        K.Jmp("panic");
    }

    /// <summary>Writes a constant byte to a port (boot-time device setup). Clobbers EAX, EDX.</summary>
    public void OutByte(ushort port, byte value)
    {
        A.mov(edx, port);
        A.mov(eax, value);
        Pv.PortOut8();
    }

    /// <summary>Emits the checksum step h = (h ^ v) * FNV prime.</summary>
    public void Mix(AssemblerRegister32 h, AssemblerRegister32 v) => Fnv.Emit(A, h, v);

    /// <summary>Pushes callee-saved registers (a routine's prologue).</summary>
    public void Save(params AssemblerRegister32[] registers)
    {
        foreach (var r in registers) A.push(r);
    }

    /// <summary>Pops what <see cref="Save"/> pushed, in reverse order.</summary>
    public void Restore(params AssemblerRegister32[] registers)
    {
        for (int i = registers.Length - 1; i >= 0; i--) A.pop(registers[i]);
    }

    /// <summary>Pops what <see cref="Save"/> pushed and returns.</summary>
    public void Return(params AssemblerRegister32[] registers)
    {
        Restore(registers);
        A.ret();
    }

    /// <summary>
    /// Emits a loop over a table: <paramref name="cursor"/> = start, start + stride, ... while below end.
    /// <paramref name="body"/> gets the label that continues with the next entry.
    /// </summary>
    public void ForEach(AssemblerRegister32 cursor, uint start, int stride, uint end, Action<Label> body)
    {
        var loop = NewLabel();
        var next = NewLabel();
        A.mov(cursor, start);
        Bind(ref loop);
        body(next);
        Bind(ref next);
        A.add(cursor, stride);
        A.cmp(cursor, unchecked((int)end));
        A.jb(loop);
    }

    /// <summary>
    /// Emits a loop over <paramref name="count"/> entries from the cursor's current value, <paramref name="counter"/>
    /// counting down; <paramref name="body"/> gets the label that continues with the next entry.
    /// </summary>
    public void ForEachEntry(AssemblerRegister32 cursor, int stride, AssemblerRegister32 counter, int count, Action<Label> body)
    {
        var loop = NewLabel();
        var next = NewLabel();
        A.mov(counter, count);
        Bind(ref loop);
        body(next);
        Bind(ref next);
        A.add(cursor, stride);
        A.dec(counter);
        A.jnz(loop);
    }

    /// <summary><see cref="ForEach"/> over the process table.</summary>
    public void ForEachProcess(AssemblerRegister32 cursor, Action<Label> body) =>
        ForEach(cursor, Layout.ProcessTable, Proc.Size, Layout.ProcessTable + Layout.MaxProcesses * Proc.Size, body);

    /// <summary>Saves the user registers into a trap frame (Linux's SAVE_ALL) and loads the kernel's data segments.</summary>
    public void SaveAll()
    {
        A.push(es);
        A.push(ds);
        A.push(eax);
        A.push(ebp);
        A.push(edi);
        A.push(esi);
        A.push(edx);
        A.push(ecx);
        A.push(ebx);
        A.push(Selector.UserData);
        A.pop(ds);
        A.push(Selector.UserData);
        A.pop(es);
        A.cld();
    }

    /// <summary>Restores the registers of a trap frame and drops its vector and error code.</summary>
    public void RestoreAll()
    {
        A.pop(ebx);
        A.pop(ecx);
        A.pop(edx);
        A.pop(esi);
        A.pop(edi);
        A.pop(ebp);
        A.pop(eax);
        A.pop(ds);
        A.pop(es);
        A.add(esp, 8);
    }

    /// <summary>Jumps to <paramref name="target"/> unless the frame at EBP came from user mode (CS RPL 3). Clobbers EAX.</summary>
    public void JumpIfKernelFrame(AssemblerRegister32 frame, Label target)
    {
        A.mov(eax, __dword_ptr[frame + Frame.Cs]);
        A.and(eax, 3);
        A.cmp(eax, 3);
        A.jne(target);
    }
}

/// <summary>What the kernel embeds: the vDSO page and the user programs (program 0 is init).</summary>
internal sealed record KernelInputs(AssembledCode Vdso, IReadOnlyList<AssembledCode> Programs);
