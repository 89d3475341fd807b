using Iced.Intel;
using VirtBench.Machine.Cpu;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Guest;

/// <summary>What the test kernel's exception handler does with an exception no test handler claims.</summary>
internal enum ExceptionAction
{
    /// <summary>Print an <see cref="ExceptionReport"/> line on COM1, then exit through isa-debug-exit with <see cref="TestKernel.ExceptionExitValue"/>.</summary>
    ReportAndExit,
    /// <summary>Print an <see cref="ExceptionReport"/> line, then continue in ring 0 at the address in <see cref="TestKernel.Resume"/> on a fresh kernel stack.</summary>
    ReportAndResume,
    /// <summary>Exit through isa-debug-exit with the vector as the value, touching nothing but the stack.</summary>
    ExitWithVector,
}

/// <summary>Options of a <see cref="TestKernel"/>.</summary>
internal sealed record KernelOptions
{
    /// <summary>Turn paging on, identity-mapping the first 4 MiB with user-accessible, writable pages.</summary>
    public bool Paging { get; init; }

    /// <summary>With paging: set CR0.WP.</summary>
    public bool WriteProtect { get; init; }

    /// <summary>What unclaimed exceptions do.</summary>
    public ExceptionAction OnException { get; init; } = ExceptionAction.ReportAndExit;
}

/// <summary>
/// A tiny protected-mode kernel for machine tests that boots the same way in QEMU and on this machine: a GDT
/// (ring-0 and ring-3 flat segments, a TSS and a few odd descriptors for protection tests), an IDT whose 256
/// vectors reach a common exception handler unless a test claims them, a TSS whose ring-0 stack is
/// <see cref="KernelLayout.KernelStackTop"/>, COM1 output routines and, optionally, paging. The test body runs
/// in ring 0 after setup, with flat segments, interrupts off and ESP at the kernel stack top.
/// </summary>
internal sealed class TestKernel
{
    /// <summary>The isa-debug-exit value written after an <see cref="ExceptionAction.ReportAndExit"/> report.</summary>
    public const uint ExceptionExitValue = 0x7F;

    /// <summary>The isa-debug-exit value written when a body runs off its end.</summary>
    public const uint FellThroughExitValue = 0x7E;

    private readonly KernelOptions _options;
    private readonly (Label Handler, int Dpl, bool Trap)?[] _gates = new (Label, int, bool)?[256];
    private Label _gdtr, _idtr, _gdt, _idt, _tss, _resume;

    private TestKernel(GuestProgram program, KernelOptions options)
    {
        Program = program;
        _options = options;
        _gdtr = program.CreateLabel("gdtr");
        _idtr = program.CreateLabel("idtr");
        _gdt = program.CreateLabel("gdt");
        _idt = program.CreateLabel("idt");
        _tss = program.CreateLabel("tss");
        _resume = program.CreateLabel("resume");
    }

    /// <summary>Builds an image: the kernel, then <paramref name="body"/>.</summary>
    public static AssembledGuest Build(Action<TestKernel> body, KernelOptions? options = null, string name = "kernel-test") =>
        GuestProgram.Build(p => new TestKernel(p, options ?? new KernelOptions()).Emit(body), name);

    /// <summary>The program being built.</summary>
    public GuestProgram Program { get; }

    /// <summary>The assembler.</summary>
    public Assembler Asm => Program.Asm;

    /// <summary>COM1 routines.</summary>
    public SerialOutput Serial { get; private set; } = null!;

    /// <summary>The kernel variable holding where <see cref="ExceptionAction.ReportAndResume"/> continues.</summary>
    public uint Resume => Program.Address(_resume);

    /// <summary>The linear address of the TSS.</summary>
    public uint TssAddress => Program.Address(_tss);

    /// <summary>The linear address of the IDT.</summary>
    public uint IdtAddress => Program.Address(_idt);

    /// <summary>Routes a vector to a test's handler (an interrupt gate, or a trap gate) with a DPL.</summary>
    public void SetGate(int vector, Label handler, int dpl = 0, bool trap = false) => _gates[vector] = (handler, dpl, trap);

    /// <summary>Emits: exit through isa-debug-exit with <paramref name="value"/> (QEMU status value*2+1).</summary>
    public void Exit(uint value = 0)
    {
        Asm.mov(eax, value);
        Asm.@out(0xF4, eax);
    }

    /// <summary>Emits: the next reported exception resumes at <paramref name="next"/> (<see cref="ExceptionAction.ReportAndResume"/>).</summary>
    public void ResumeAt(Label next) => Asm.mov(__dword_ptr[Resume], Program.Address(next));

    /// <summary>Emits an iret to ring 3 at <paramref name="entry"/> with the ring-3 data segments loaded.</summary>
    public void EnterUserMode(Label entry, uint stackTop = UserStackTop, uint eflags = 0x2) =>
        EnterUserMode(Program.Address(entry), stackTop, eflags);

    /// <summary>Emits an iret to ring 3 at a linear address with the ring-3 data segments loaded.</summary>
    public void EnterUserMode(uint entry, uint stackTop = UserStackTop, uint eflags = 0x2)
    {
        var a = Asm;
        a.mov(ax, UserData32);
        a.mov(ds, ax); a.mov(es, ax); a.mov(fs, ax); a.mov(gs, ax);
        a.push((int)UserData32);
        a.push(stackTop);
        a.push(eflags);
        a.push((int)UserCode32);
        a.push(entry);
        a.iretd();
    }

    /// <summary>Emits: write a page-table entry for a linear address below 4 MiB and invalidate its translation.</summary>
    public void SetPte(uint linear, uint value)
    {
        Asm.mov(__dword_ptr[PteAddress(linear)], value);
        Asm.invlpg(__[linear]);
    }

    /// <summary>
    /// Emits: the PIC remapped (master at vector <see cref="TimerVector"/>, slave at 0x28), only IRQ 0 unmasked,
    /// and PIT channel 0 as a rate generator of <paramref name="pitCount"/> ticks per interrupt. Interrupts stay off.
    /// </summary>
    public void StartTimer(ushort pitCount)
    {
        foreach (var (port, value) in new (byte, byte)[]
                 {
                     (0x20, 0x11), (0x21, TimerVector), (0x21, 0x04), (0x21, 0x01),
                     (0xA0, 0x11), (0xA1, 0x28), (0xA1, 0x02), (0xA1, 0x01),
                     (0x21, 0xFE), (0xA1, 0xFF),
                     (0x43, 0x34), (0x40, (byte)pitCount), (0x40, (byte)(pitCount >> 8)),
                 })
        {
            Asm.mov(al, value);
            Asm.@out(port, al);
        }
    }

    /// <summary>
    /// Emits a bench-port mark: <see cref="Platform.BenchBegin"/> (after the operation count) opens the measured
    /// region, <see cref="Platform.BenchEnd"/> closes it. EAX is clobbered.
    /// </summary>
    public void Bench(uint command, uint operations = 1)
    {
        if (command == Platform.BenchBegin)
        {
            Asm.mov(eax, operations);
            Asm.@out((byte)Platform.BenchOpsPort, eax);
        }
        Asm.mov(eax, command);
        Asm.@out((byte)Platform.BenchControlPort, eax);
    }

    /// <summary>Emits a jump over padding to the next page, so that the code after it starts a page (its fetches stay on one page).</summary>
    public void ContinueOnNewPage()
    {
        var next = Program.CreateLabel();
        Asm.jmp(next);
        Program.Align(4096);
        Program.Place(ref next);
    }

    /// <summary>The vector of IRQ 0 after <see cref="StartTimer"/>.</summary>
    public const byte TimerVector = 0x20;

    private void Emit(Action<TestKernel> body)
    {
        var a = Asm;
        var p = Program;

        // ---- Entry: our GDT, segments, stack, IDT, TSS, paging ----
        a.cli();
        a.lgdt(__[p.Address(_gdtr)]);
        var reload = p.CreateLabel("reload_cs");
        a.AddInstruction(Instruction.CreateBranch(Code.Jmp_ptr1632, KernelCode, p.Address(reload)));
        p.Place(ref reload);
        a.mov(ax, KernelData);
        a.mov(ds, ax); a.mov(es, ax); a.mov(fs, ax); a.mov(gs, ax); a.mov(ss, ax);
        a.mov(esp, KernelStackTop);
        a.lidt(__[p.Address(_idtr)]);
        a.mov(ax, Tss);
        a.ltr(ax);
        if (_options.Paging) EmitPagingSetup();
        var bodyStart = p.CreateLabel("body");
        a.jmp(bodyStart);

        // ---- Library ----
        Serial = SerialOutput.Emit(p);
        var stubs = EmitExceptionEntry();

        // ---- The test ----
        a.Label(ref bodyStart);
        body(this);
        Exit(FellThroughExitValue);

        // ---- Data ----
        for (int v = 0; v < 256; v++) _gates[v] ??= (stubs[v], 0, false);
        p.Align(8);
        p.Place(ref _gdt);
        a.db(GdtBytes(p.Address(_tss)));
        p.Place(ref _gdtr);
        a.dw(GdtLimit); a.dd(p.Address(_gdt));
        p.Align(8);
        p.Place(ref _idt);
        foreach (var gate in _gates)
        {
            var (handler, dpl, trap) = gate!.Value;
            uint offset = p.Address(handler);
            a.dd((KernelCode << 16) | (offset & 0xFFFF));
            a.dd((offset & 0xFFFF_0000) | 0x8000u | (uint)dpl << 13 | (trap ? 0xF00u : 0xE00u));
        }
        p.Place(ref _idtr);
        a.dw((ushort)(256 * 8 - 1)); a.dd(p.Address(_idt));
        p.Place(ref _tss);
        a.db(TssBytes());
        p.Place(ref _resume);
        a.dd(0u);
    }

    private void EmitPagingSetup()
    {
        var a = Asm;
        // Identity-map 0-4 MiB: present, writable, user-accessible (tests tighten what they need).
        a.mov(edi, PageTable);
        a.mov(eax, Present | Writable | User);
        a.mov(ecx, 1024u);
        var fill = a.CreateLabel();
        a.Label(ref fill);
        a.mov(__dword_ptr[edi], eax);
        a.add(eax, 0x1000);
        a.add(edi, 4);
        a.dec(ecx);
        a.jnz(fill);
        // Clear the rest of the directory (QEMU's RAM is not guaranteed to be zero there).
        a.mov(edi, PageDirectory + 4);
        a.xor(eax, eax);
        a.mov(ecx, 1023u);
        var clear = a.CreateLabel();
        a.Label(ref clear);
        a.mov(__dword_ptr[edi], eax);
        a.add(edi, 4);
        a.dec(ecx);
        a.jnz(clear);
        a.mov(__dword_ptr[PageDirectory], PageTable | Present | Writable | User);
        a.mov(eax, PageDirectory);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)(0x8000_0000u | (_options.WriteProtect ? 0x1_0000u : 0))));
        a.mov(cr0, eax);
    }

    /// <summary>Emits one stub per vector (pushing a zero error code where the CPU pushes none, then the vector) and the common handler.</summary>
    private Label[] EmitExceptionEntry()
    {
        var a = Asm;
        var p = Program;
        var common = p.CreateLabel("exception_common");
        var stubs = new Label[256];
        for (int v = 0; v < 256; v++)
        {
            stubs[v] = p.CreateLabel($"vector_{v:x2}");
            p.Place(ref stubs[v]);
            if (!Vectors.HasErrorCode(v)) a.push(0);
            a.push(v);
            a.jmp(common);
        }

        a.Label(ref common);
        if (_options.OnException == ExceptionAction.ExitWithVector)
        {
            a.pop(eax);
            a.@out(0xF4, eax);
            a.hlt();
            return stubs;
        }
        // Frame: vector, error code, EIP, CS, EFLAGS (then ESP, SS from ring 3).
        a.mov(ax, KernelData);
        a.mov(ds, ax); a.mov(es, ax);
        Serial.Print(p, "#");
        a.mov(eax, __dword_ptr[esp]); a.call(Serial.PutHex8);
        Serial.Print(p, " err=");
        a.mov(eax, __dword_ptr[esp + 4]); a.call(Serial.PutHex32);
        Serial.Print(p, " eip=");
        a.mov(eax, __dword_ptr[esp + 8]); a.call(Serial.PutHex32);
        Serial.Print(p, " cs=");
        a.mov(eax, __dword_ptr[esp + 12]); a.call(Serial.PutHex32);
        Serial.Print(p, " cr2=");
        a.mov(eax, cr2); a.call(Serial.PutHex32);
        Serial.Print(p, "\n");
        if (_options.OnException == ExceptionAction.ReportAndExit)
        {
            Exit(ExceptionExitValue);
        }
        else
        {
            a.mov(esp, KernelStackTop);
            a.jmp(__dword_ptr[Resume]);
        }
        return stubs;
    }

    private static byte[] GdtBytes(uint tss)
    {
        ulong[] descriptors =
        [
            0,
            Descriptor(0, 0xFFFFF, 0x9A, 0xC),      // 0x08 ring-0 code
            Descriptor(0, 0xFFFFF, 0x92, 0xC),      // 0x10 ring-0 data
            Descriptor(0, 0xFFFFF, 0xFA, 0xC),      // 0x18 ring-3 code
            Descriptor(0, 0xFFFFF, 0xF2, 0xC),      // 0x20 ring-3 data
            Descriptor(tss, 103, 0x89, 0x0),        // 0x28 available 32-bit TSS
            Descriptor(0, 0xFFFFF, 0x90, 0xC),      // 0x30 read-only data
            Descriptor(Scratch, 0xFFF, 0x92, 0x4),  // 0x38 data, byte-granular limit 0xFFF
            Descriptor(0, 0xFFFFF, 0x12, 0xC),      // 0x40 data, not present
            Descriptor(0, 0xFFFFF, 0x98, 0xC),      // 0x48 execute-only code
        ];
        var bytes = new byte[descriptors.Length * 8];
        for (int i = 0; i < descriptors.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), descriptors[i]);
        return bytes;
    }

    /// <summary>A segment descriptor: base, 20-bit limit, access byte (P, DPL, S, type) and flags nibble (G, D/B, L, AVL).</summary>
    private static ulong Descriptor(uint baseAddress, uint limit, uint access, uint flags) =>
        (limit & 0xFFFF) | (ulong)(baseAddress & 0xFF_FFFF) << 16 | (ulong)access << 40 |
        (ulong)((limit >> 16) & 0xF) << 48 | (ulong)flags << 52 | (ulong)(baseAddress >> 24) << 56;

    private static byte[] TssBytes()
    {
        var tss = new byte[104];
        BitConverter.TryWriteBytes(tss.AsSpan(4), KernelStackTop);   // ESP0
        BitConverter.TryWriteBytes(tss.AsSpan(8), (uint)KernelData);  // SS0
        BitConverter.TryWriteBytes(tss.AsSpan(0x66), (ushort)104);   // I/O map base past the limit: no bitmap
        return tss;
    }
}
