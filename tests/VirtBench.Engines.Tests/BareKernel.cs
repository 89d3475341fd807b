using Iced.Intel;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests;

/// <summary>
/// A minimal bare-metal guest kernel for VMM tests: it loads a flat GDT (0x08 code, 0x10 data) and an IDT whose
/// handlers for vectors 0-31 print <c>vector=V error=E cr2=A eip=I</c> on COM1 and exit; then the test's code runs at
/// ring 0 and the kernel prints <c>done</c> and exits. Tables live at fixed low addresses; paging is the test's.
/// The test's code gets the label of a routine that prints EAX in hex (it clobbers ECX and DX). With
/// <c>reportEcx</c>, the handlers also print the ECX the exception found (<c> ecx=C</c>).
/// </summary>
internal static class BareKernel
{
    /// <summary>Where the code starts (after the multiboot header).</summary>
    public const uint CodeBase = Platform.KernelLoadAddress + Multiboot.HeaderSize;

    /// <summary>A page directory and two page tables the tests may fill (physical addresses).</summary>
    public const uint Directory = 0x0001_0000, Table0 = 0x0001_1000, Table1 = 0x0001_2000, HoleTable = 0x0001_3000;

    private const uint Gdt = 0x2000, Idt = 0x3000, Pointers = 0x1F00, SavedEcx = 0x1F80;
    private static readonly int[] ErrorCodeVectors = [8, 10, 11, 12, 13, 14, 17];

    /// <summary>Builds the image around <paramref name="body"/>.</summary>
    public static GuestImage Build(string name, Action<Assembler, Label> body, bool reportEcx = false) =>
        BuildWithCode(name, body, reportEcx).Image;

    /// <summary>Builds the image around <paramref name="body"/>, with the code it loads at <see cref="CodeBase"/>.</summary>
    public static (GuestImage Image, byte[] Code) BuildWithCode(string name, Action<Assembler, Label> body, bool reportEcx = false)
    {
        // Two passes: the first learns where the handlers land (the code has the same size with any addresses).
        var handlers = new uint[32];
        byte[] bytes = [];
        for (int pass = 0; pass < 2; pass++) bytes = Assemble(body, handlers, reportEcx);
        return (new GuestImage(Multiboot.CreateImage(bytes, CodeBase, 0), name), bytes);
    }

    private static byte[] Assemble(Action<Assembler, Label> body, uint[] handlers, bool reportEcx)
    {
        var a = new Assembler(32);
        var stubs = Enumerable.Range(0, 32).Select(_ => a.CreateLabel()).ToArray();
        var common = a.CreateLabel();
        var hex = a.CreateLabel();

        a.cli();
        a.mov(esp, 0x9_0000);
        uint[] gdt = [0, 0, 0x0000_FFFF, 0x00CF_9A00, 0x0000_FFFF, 0x00CF_9200];
        for (int i = 0; i < gdt.Length; i++) a.mov(__dword_ptr[Gdt + (uint)i * 4], gdt[i]);
        a.mov(__word_ptr[Pointers], (ushort)(gdt.Length * 4 - 1));
        a.mov(__dword_ptr[Pointers + 2], Gdt);
        a.lgdt(__[Pointers]);
        a.mov(eax, 0x10);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        for (int v = 0; v < 32; v++)
        {
            a.mov(eax, handlers[v]);
            a.mov(edx, eax);
            a.and(eax, 0xFFFF);
            a.or(eax, 0x0008_0000);
            a.mov(__dword_ptr[Idt + (uint)v * 8], eax);
            a.and(edx, unchecked((int)0xFFFF_0000));
            a.or(edx, 0x8E00);
            a.mov(__dword_ptr[Idt + (uint)v * 8 + 4], edx);
        }
        a.mov(__word_ptr[Pointers + 8], 32 * 8 - 1);
        a.mov(__dword_ptr[Pointers + 10], Idt);
        a.lidt(__[Pointers + 8]);
        body(a, hex);
        Print(a, "done\n");
        Exit(a);

        for (int v = 0; v < 32; v++)
        {
            a.Label(ref stubs[v]);
            if (!ErrorCodeVectors.Contains(v)) a.push(0);
            a.push(v);
            a.jmp(common);
        }
        a.Label(ref common);
        if (reportEcx) a.mov(__dword_ptr[SavedEcx], ecx);
        Print(a, "vector=");
        a.mov(eax, __dword_ptr[esp]);
        a.call(hex);
        Print(a, " error=");
        a.mov(eax, __dword_ptr[esp + 4]);
        a.call(hex);
        Print(a, " cr2=");
        a.mov(eax, cr2);
        a.call(hex);
        Print(a, " eip=");
        a.mov(eax, __dword_ptr[esp + 8]);
        a.call(hex);
        if (reportEcx)
        {
            Print(a, " ecx=");
            a.mov(eax, __dword_ptr[SavedEcx]);
            a.call(hex);
        }
        Print(a, "\n");
        Exit(a);

        // hex: prints EAX as eight hex digits.
        a.Label(ref hex);
        a.mov(ecx, 8);
        var digit = a.CreateLabel();
        var letter = a.CreateLabel();
        var put = a.CreateLabel();
        a.Label(ref digit);
        a.rol(eax, 4);
        a.push(eax);
        a.and(eax, 0xF);
        a.cmp(eax, 10);
        a.jae(letter);
        a.add(eax, '0');
        a.jmp(put);
        a.Label(ref letter);
        a.add(eax, 'a' - 10);
        a.Label(ref put);
        a.mov(dx, (ushort)Platform.Com1Port);
        a.@out(dx, al);
        a.pop(eax);
        a.dec(ecx);
        a.jnz(digit);
        a.ret();

        var writer = new CodeBytes();
        var result = a.Assemble(writer, CodeBase, BlockEncoderOptions.ReturnNewInstructionOffsets);
        for (int v = 0; v < 32; v++) handlers[v] = (uint)result.GetLabelRIP(stubs[v]);
        return writer.Bytes.ToArray();
    }

    /// <summary>Identity-maps the first 4 MiB with <see cref="Directory"/> and <see cref="Table0"/> and turns paging on (CR0.PG, WP).</summary>
    public static void EnablePaging(Assembler a, Action<Assembler>? moreMappings = null)
    {
        var fill = a.CreateLabel();
        a.mov(edi, Table0);
        a.mov(eax, 3);
        a.Label(ref fill);
        a.mov(__dword_ptr[edi], eax);
        a.add(edi, 4);
        a.add(eax, 0x1000);
        a.cmp(edi, Table0 + 4096);
        a.jb(fill);
        a.mov(__dword_ptr[Directory], Table0 | 3);
        moreMappings?.Invoke(a);
        a.mov(eax, Directory);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x8001_0000));
        a.mov(cr0, eax);
    }

    /// <summary>Prints a constant string on COM1 (clobbers AL, DX).</summary>
    public static void Print(Assembler a, string text)
    {
        a.mov(dx, (ushort)Platform.Com1Port);
        foreach (char c in text)
        {
            a.mov(al, (byte)c);
            a.@out(dx, al);
        }
    }

    private static void Exit(Assembler a)
    {
        a.mov(eax, 0);
        a.@out(0xF4, eax);
    }

    private sealed class CodeBytes : CodeWriter
    {
        public readonly List<byte> Bytes = [];
        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
