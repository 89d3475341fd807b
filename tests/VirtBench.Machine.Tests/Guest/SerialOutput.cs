using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Guest;

/// <summary>
/// COM1 output routines in guest code, emitted once per program and reached with <c>call</c>. They preserve
/// every register and the flags, and use only mov, movzx, push/pop, test, inc, jcc, in and out, so they run on
/// the machine before any optional instruction family is implemented. Hex digits come from a 512-byte table
/// ("000102...ff") instead of shifts.
/// </summary>
/// <remarks>
/// Every character waits for the line status register's "transmitter holding register empty" bit, as a real
/// driver must: QEMU's 16550 keeps a byte pending while its host side (a pipe) is full, and a byte written then
/// is lost.
/// </remarks>
internal sealed class SerialOutput
{
    private SerialOutput(Label putChar, Label putHex8, Label putHex32, Label putString)
    {
        PutChar = putChar;
        PutHex8 = putHex8;
        PutHex32 = putHex32;
        PutString = putString;
    }

    /// <summary>Writes AL.</summary>
    public Label PutChar { get; }

    /// <summary>Writes AL as two lowercase hex digits.</summary>
    public Label PutHex8 { get; }

    /// <summary>Writes EAX as eight lowercase hex digits.</summary>
    public Label PutHex32 { get; }

    /// <summary>Writes the NUL-terminated string at ESI.</summary>
    public Label PutString { get; }

    /// <summary>Emits the routines (and their table) at the current position, behind a jump.</summary>
    public static SerialOutput Emit(GuestProgram p)
    {
        var a = p.Asm;
        var after = a.CreateLabel();
        a.jmp(after);

        var table = p.Data("hex_table", System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 256).Select(i => i.ToString("x2")))));
        var scratch = p.Dwords("hex_scratch");
        uint hex = p.Address(table), tmp = p.Address(scratch);

        var putChar = p.CreateLabel("put_char");
        p.Place(ref putChar);
        a.pushfd();
        a.push(edx);
        a.push(eax);
        a.mov(dx, (ushort)(Platform.Com1Port + 5));
        var wait = a.CreateLabel();
        a.Label(ref wait);
        a.@in(al, dx);
        a.test(al, 0x20);
        a.jz(wait);
        a.pop(eax);
        a.mov(dx, (ushort)Platform.Com1Port);
        a.@out(dx, al);
        a.pop(edx);
        a.popfd();
        a.ret();

        // Two digits of the byte in ECX (clobbers EAX; the caller saved it).
        void Byte()
        {
            a.mov(ax, __word_ptr[ecx * 2 + (int)hex]);
            a.call(putChar);
            a.mov(al, ah);
            a.call(putChar);
        }

        var putHex8 = p.CreateLabel("put_hex8");
        p.Place(ref putHex8);
        a.push(eax); a.push(ecx);
        a.movzx(ecx, al);
        Byte();
        a.pop(ecx); a.pop(eax);
        a.ret();

        var putHex32 = p.CreateLabel("put_hex32");
        p.Place(ref putHex32);
        a.push(eax); a.push(ecx);
        a.mov(__dword_ptr[tmp], eax);
        for (uint i = 4; i-- > 0;)
        {
            a.movzx(ecx, __byte_ptr[tmp + i]);
            Byte();
        }
        a.pop(ecx); a.pop(eax);
        a.ret();

        var putString = p.CreateLabel("put_string");
        p.Place(ref putString);
        a.pushfd();
        a.push(eax); a.push(esi);
        var loop = a.CreateLabel();
        var done = a.CreateLabel();
        a.Label(ref loop);
        a.mov(al, __byte_ptr[esi]);
        a.test(al, al);
        a.jz(done);
        a.call(putChar);
        a.inc(esi);
        a.jmp(loop);
        a.Label(ref done);
        a.pop(esi); a.pop(eax);
        a.popfd();
        a.ret();

        a.Label(ref after);
        return new SerialOutput(putChar, putHex8, putHex32, putString);
    }

    /// <summary>Emits inline code that prints <paramref name="text"/> (registers and flags preserved).</summary>
    public void Print(GuestProgram p, string text)
    {
        var a = p.Asm;
        var over = a.CreateLabel();
        a.jmp(over);
        var data = p.Data("text", System.Text.Encoding.Latin1.GetBytes(text + "\0"));
        a.Label(ref over);
        a.push(esi);
        a.mov(esi, p.Address(data));
        a.call(PutString);
        a.pop(esi);
    }

    /// <summary>Emits inline code that prints a 32-bit register in hex (registers and flags preserved).</summary>
    public void PrintHex(GuestProgram p, AssemblerRegister32 register)
    {
        var a = p.Asm;
        if (register == eax) { a.call(PutHex32); return; }
        a.push(eax);
        a.mov(eax, register);
        a.call(PutHex32);
        a.pop(eax);
    }

    /// <summary>Emits inline code that prints a dword of memory in hex (registers and flags preserved).</summary>
    public void PrintHex(GuestProgram p, uint address)
    {
        var a = p.Asm;
        a.push(eax);
        a.mov(eax, __dword_ptr[address]);
        a.call(PutHex32);
        a.pop(eax);
    }
}
