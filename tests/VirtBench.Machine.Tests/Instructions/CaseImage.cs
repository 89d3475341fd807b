using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>
/// Builds a multiboot image that runs <see cref="CpuCase"/>s one after the other and prints, for each, a line
/// "#index EAX ECX EDX EBX ESP EBP ESI EDI EFLAGS vector error faultEIP CR2 repairs memory" on COM1, then
/// exits through isa-debug-exit. The same image runs on this machine and in QEMU. It sets up its own GDT,
/// an IDT whose handlers record a fault and resume at the case's dump (or repair a page fault and restart),
/// and identity paging of the first 4 MiB with CR0.WP, where <see cref="Hole"/> is not present and
/// <see cref="ReadOnly"/> is read-only at the start of every case. The harness itself uses only mov, movzx,
/// push/pop, call/ret, add/or/dec/cmp/jcc and out, so the families under test cannot break it.
/// </summary>
internal static class CaseImage
{
    public const uint Gdt = 0x20_0000, Idt = 0x20_0100, Save = 0x20_0200, Scratch = 0x20_0300, HexTable = 0x20_0400;
    public const uint PageDirectory = 0x20_1000, PageTable = 0x20_2000, StackTop = 0x21_0000;
    /// <summary>Test data (cases may use up to 128 KiB from here; the first 512 bytes are zeroed before each case).</summary>
    public const uint Data = 0x22_0000;
    /// <summary>A page that is not present when a case starts.</summary>
    public const uint Hole = 0x24_0000;
    /// <summary>A present, read-only page (CR0.WP is set, so ring-0 writes fault).</summary>
    public const uint ReadOnly = 0x24_2000;
    /// <summary>Flat 4 GiB code and data selectors; <see cref="DataSegment"/> (loaded in FS) has base <see cref="Data"/> and limit 0xFFFF.</summary>
    public const ushort CodeSelector = 0x08, FlatSelector = 0x10, DataSegment = 0x18;

    /// <summary>The isa-debug-exit value written when the harness itself faults.</summary>
    public const uint FatalStatus = 3;

    private const int Slots = 14;            // EAX..EDI, EFLAGS, vector, error, fault EIP, CR2, repairs
    private const uint Resume = Save + 64, Repair = Save + 68;
    private const uint NoFault = 0xFFFF_FFFF;

    /// <summary>The image and, per case, the address of its code under test.</summary>
    public sealed record Built(GuestImage Image, uint[] CodeStarts);

    public static Built Build(IReadOnlyList<CpuCase> cases)
    {
        // Two passes: the first finds the addresses of labels that the second writes as 32-bit immediates
        // (IDT gates, resume points); immediates have fixed sizes, so the layout does not change.
        var first = Emit(cases, null, out _, out _);
        var second = Emit(cases, first, out var image, out var starts);
        if (!first.SequenceEqual(second)) throw new InvalidOperationException("harness layout changed between passes");
        return new Built(image, starts);
    }

    private static Dictionary<string, uint> Emit(IReadOnlyList<CpuCase> cases, Dictionary<string, uint>? known,
        out GuestImage image, out uint[] starts)
    {
        var a = new Assembler(32);
        var labels = new NamedLabels(a);
        uint At(string name) => known?[name] ?? 0;

        EmitSetup(a, At);
        for (int k = 0; k < cases.Count; k++) EmitCase(a, k, cases[k], labels, At);
        TestImage.Exit(a, 0);
        labels.Here("fatal");
        TestImage.Exit(a, FatalStatus);
        EmitPrint(a, labels);
        EmitFaultHandlers(a, labels);

        var writer = new BytesWriter();
        var result = a.Assemble(writer, TestImage.CodeBase, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var addresses = labels.All.ToDictionary(p => p.Key, p => (uint)result.GetLabelRIP(p.Value));
        image = new GuestImage(Multiboot.CreateImage(writer.Bytes.ToArray(), TestImage.CodeBase), "instruction-cases");
        starts = Enumerable.Range(0, cases.Count).Select(k => addresses[$"start{k}"]).ToArray();
        return addresses;
    }

    private static void EmitSetup(Assembler a, Func<string, uint> at)
    {
        // GDT: null, flat code, flat data, data based at Data with a 64 KiB limit.
        uint[] gdt = [0, 0, 0x0000_FFFF, 0x00CF_9A00, 0x0000_FFFF, 0x00CF_9200,
            ((Data & 0xFFFF) << 16) | 0xFFFF, (Data & 0xFF00_0000) | 0x0040_9200 | ((Data >> 16) & 0xFF)];
        for (int n = 0; n < gdt.Length; n++) a.mov(__dword_ptr[Gdt + 4 * n], gdt[n]);
        a.mov(__word_ptr[Scratch], (ushort)(gdt.Length * 4 - 1));
        a.mov(__dword_ptr[Scratch + 2], Gdt);
        a.lgdt(__[Scratch]);
        // IDT: 32 interrupt gates to the stubs.
        for (int v = 0; v < 32; v++)
        {
            uint stub = at($"stub{v}");
            a.mov(__dword_ptr[Idt + 8 * v], (stub & 0xFFFF) | ((uint)CodeSelector << 16));
            a.mov(__dword_ptr[Idt + 8 * v + 4], (stub & 0xFFFF_0000) | 0x8E00);
        }
        a.mov(__word_ptr[Scratch], (ushort)(32 * 8 - 1));
        a.mov(__dword_ptr[Scratch + 2], Idt);
        a.lidt(__[Scratch]);
        // Hex digits of every byte value, two characters each.
        const string digits = "0123456789ABCDEF";
        for (int b = 0; b < 256; b += 2)
        {
            uint pair(int x) => digits[x >> 4] | ((uint)digits[x & 15] << 8);
            a.mov(__dword_ptr[HexTable + 2 * (uint)b], pair(b) | (pair(b + 1) << 16));
        }
        // Identity paging of 0..4 MiB, write-protect on.
        ZeroDwords(a, PageDirectory, 1024);
        var map = a.CreateLabel();
        a.mov(edi, PageTable);
        a.mov(eax, 3u);
        a.mov(ecx, 1024u);
        a.Label(ref map);
        a.mov(__dword_ptr[edi], eax);
        a.add(eax, 0x1000);
        a.add(edi, 4);
        a.dec(ecx);
        a.jnz(map);
        a.mov(__dword_ptr[PageDirectory], PageTable | 3);
        a.mov(eax, PageDirectory);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x8001_0000));
        a.mov(cr0, eax);
    }

    private static void ZeroDwords(Assembler a, uint address, uint count)
    {
        var loop = a.CreateLabel();
        a.mov(edi, address);
        a.mov(ecx, count);
        a.Label(ref loop);
        a.mov(__dword_ptr[edi], 0u);
        a.add(edi, 4);
        a.dec(ecx);
        a.jnz(loop);
    }

    private static uint PteOf(uint page) => PageTable + (page >> 12) * 4;

    private static void SetPages(Assembler a, uint hole, uint readOnly)
    {
        a.mov(__dword_ptr.ss[PteOf(Hole)], hole);
        a.mov(__dword_ptr.ss[PteOf(ReadOnly)], readOnly);
        a.invlpg(__dword_ptr.ss[Hole]);
        a.invlpg(__dword_ptr.ss[ReadOnly]);
    }

    private static void EmitCase(Assembler a, int k, CpuCase c, NamedLabels label, Func<string, uint> at)
    {
        // Machine state: segments, stack, pages writable while memory is set up.
        a.mov(eax, (uint)FlatSelector);
        a.mov(ss, ax);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(gs, ax);
        a.mov(eax, (uint)DataSegment);
        a.mov(fs, ax);
        a.mov(esp, StackTop);
        SetPages(a, Hole | 3, ReadOnly | 3);

        ZeroDwords(a, Data, 128);
        if (c.ExpectedMemory is var (windowAddress, windowBytes))
            for (uint n = 0; n < windowBytes.Length; n++) a.mov(__byte_ptr[windowAddress + n], (byte)0);
        foreach (var (address, bytes) in c.Memory)
        {
            int n = 0;
            for (; n + 4 <= bytes.Length; n += 4) a.mov(__dword_ptr[address + (uint)n], BitConverter.ToUInt32(bytes, n));
            for (; n < bytes.Length; n++) a.mov(__byte_ptr[address + (uint)n], bytes[n]);
        }
        SetPages(a, Hole | 2, ReadOnly | 1);

        a.mov(__dword_ptr[Save + 4 * 9], NoFault);
        for (int slot = 10; slot < Slots; slot++) a.mov(__dword_ptr[Save + 4 * (uint)slot], 0u);
        a.mov(eax, 0u);
        a.mov(cr2, eax);
        a.mov(__dword_ptr[Resume], at($"dump{k}"));
        a.mov(__dword_ptr[Repair], c.RepairedPageFaults is null ? 0u : 1u);

        // The case's initial flags and registers, then its code.
        a.push(0x2u | c.InitialFlags);
        a.popfd();
        AssemblerRegister32[] regs = [eax, ecx, edx, ebx, esp, ebp, esi, edi];
        for (int r = 0; r < 8; r++) if (r != 4) a.mov(regs[r], c.Initial[r]);
        label.Here($"start{k}");
        c.Code(a);

        // Save the results through SS (the code may have changed DS).
        for (int r = 0; r < 8; r++) a.mov(__dword_ptr.ss[Save + 4 * (uint)r], regs[r]);
        a.pushfd();
        a.pop(__dword_ptr.ss[Save + 4 * 8]);

        label.Here($"dump{k}");
        a.mov(__dword_ptr.ss[Resume], at("fatal")); // a fault while dumping stops the image rather than looping
        a.mov(eax, (uint)FlatSelector);
        a.mov(ss, ax);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(esp, StackTop);
        a.mov(eax, (uint)k);
        a.mov(esi, c.ExpectedMemory?.Address ?? 0u);
        a.mov(ecx, (uint)(c.ExpectedMemory?.Bytes.Length ?? 0));
        a.call(label["print"]);
    }

    /// <summary>print: "#EAX" then the save slots, then ECX bytes at ESI, then a newline.</summary>
    private static void EmitPrint(Assembler a, NamedLabels label)
    {
        var hex32 = a.CreateLabel();
        label.Here("print");
        a.mov(dx, (ushort)Platform.Com1Port);
        a.mov(__dword_ptr[Scratch], eax);
        a.mov(al, (byte)'#');
        a.@out(dx, al);
        a.call(hex32);
        for (uint slot = 0; slot < Slots; slot++)
        {
            a.mov(al, (byte)' ');
            a.@out(dx, al);
            a.mov(eax, __dword_ptr[Save + 4 * slot]);
            a.mov(__dword_ptr[Scratch], eax);
            a.call(hex32);
        }
        a.mov(al, (byte)' ');
        a.@out(dx, al);
        var bytes = a.CreateLabel();
        var done = a.CreateLabel();
        a.cmp(ecx, 0);
        a.je(done);
        a.Label(ref bytes);
        a.movzx(ebx, __byte_ptr[esi]);
        PrintHexPair(a);
        a.add(esi, 1);
        a.dec(ecx);
        a.jnz(bytes);
        a.Label(ref done);
        a.mov(al, (byte)'\n');
        a.@out(dx, al);
        a.ret();

        // hex32: the dword at Scratch, most significant byte first.
        a.Label(ref hex32);
        for (uint n = 4; n-- > 0;)
        {
            a.movzx(ebx, __byte_ptr[Scratch + n]);
            PrintHexPair(a);
        }
        a.ret();
    }

    private static void PrintHexPair(Assembler a)
    {
        a.mov(ax, __word_ptr[ebx * 2 + HexTable]);
        a.@out(dx, al);
        a.mov(al, ah);
        a.@out(dx, al);
    }

    private static void EmitFaultHandlers(Assembler a, NamedLabels label)
    {
        var common = a.CreateLabel();
        for (int v = 0; v < 32; v++)
        {
            label.Here($"stub{v}");
            if (!Cpu.Vectors.HasErrorCode(v)) a.push(0);
            a.push(v);
            a.jmp(common);
        }
        // Stack: vector, error code, EIP, CS, EFLAGS.
        var record = a.CreateLabel();
        a.Label(ref common);
        a.cmp(__dword_ptr.ss[Repair], 0);
        a.je(record);
        a.cmp(__dword_ptr[esp], 14);
        a.jne(record);
        // Repair: map the pages, count, and restart the faulting instruction.
        a.push(eax);
        a.mov(eax, cr2);
        a.mov(__dword_ptr.ss[Save + 4 * 12], eax);
        a.pop(eax);
        a.add(__dword_ptr.ss[Save + 4 * 13], 1);
        SetPages(a, Hole | 3, ReadOnly | 3);
        a.add(esp, 8);
        a.iretd();
        // Record the state at the fault and resume at the case's dump.
        a.Label(ref record);
        AssemblerRegister32[] regs = [eax, ecx, edx, ebx, esp, ebp, esi, edi];
        for (int r = 0; r < 8; r++) if (r != 4) a.mov(__dword_ptr.ss[Save + 4 * (uint)r], regs[r]);
        a.pop(__dword_ptr.ss[Save + 4 * 9]);
        a.pop(__dword_ptr.ss[Save + 4 * 10]);
        a.pop(__dword_ptr.ss[Save + 4 * 11]);
        a.add(esp, 4);
        a.pop(__dword_ptr.ss[Save + 4 * 8]);
        a.mov(__dword_ptr.ss[Save + 4 * 4], esp);
        a.mov(eax, cr2);
        a.mov(__dword_ptr.ss[Save + 4 * 12], eax);
        a.jmp(__dword_ptr.ss[Resume]);
    }

    /// <summary>Labels by name (Iced labels are values that <see cref="Assembler.Label"/> updates, so they are kept here).</summary>
    private sealed class NamedLabels(Assembler a)
    {
        public readonly Dictionary<string, Label> All = [];

        public Label this[string name] => All.TryGetValue(name, out var l) ? l : All[name] = a.CreateLabel(name);

        public void Here(string name)
        {
            var l = this[name];
            a.Label(ref l);
            All[name] = l;
        }
    }

    private sealed class BytesWriter : CodeWriter
    {
        public readonly List<byte> Bytes = [];
        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
