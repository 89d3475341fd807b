using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Guest;

/// <summary>
/// A guest routine that prints the general-purpose registers, EFLAGS and a checksum of a memory area as one
/// line on COM1, leaving every register unchanged, and the host-side reading of that line.
/// </summary>
/// <remarks>
/// A call site (<see cref="EmitCall"/>) pushes EFLAGS and a mask of the flags to keep; the routine clears the
/// others in the saved copy before printing it and the call site pops the masked copy back. So architecturally
/// undefined flags are neither compared nor carried into the next instruction, on either machine.
/// The line is "EAX ECX EDX EBX ESP EBP ESI EDI EFLAGS SUM1 SUM2" in hex, where SUM1 and SUM2 are a
/// Fletcher-style sum of the area's dwords (SUM1 = sum of dwords, SUM2 = sum of the running SUM1).
/// </remarks>
internal static class RegisterDump
{
    /// <summary>The names of the fields of a dump line, in order.</summary>
    public static readonly string[] Fields = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eflags", "sum1", "sum2"];

    /// <summary>Emits the routine (behind a jump) and returns its entry.</summary>
    public static Label EmitRoutine(GuestProgram p, SerialOutput serial, uint area, int areaBytes)
    {
        var a = p.Asm;
        var after = a.CreateLabel();
        a.jmp(after);
        var dump = p.CreateLabel("register_dump");
        p.Place(ref dump);

        // Stack after pushad: EDI ESI EBP ESP EBX EDX ECX EAX, return address, keep mask, EFLAGS.
        a.pushad();
        a.mov(eax, __dword_ptr[esp + 36]);
        a.and(__dword_ptr[esp + 40], eax);
        void Field(int offset, int adjust = 0)
        {
            a.mov(eax, __dword_ptr[esp + offset]);
            if (adjust != 0) a.add(eax, adjust);
            a.call(serial.PutHex32);
            a.mov(al, (byte)' ');
            a.call(serial.PutChar);
        }
        Field(28); Field(24); Field(20); Field(16);
        Field(12, 12); // ESP as it was at the call site, before pushfd, push and call
        Field(8); Field(4); Field(0);
        Field(40);
        a.xor(eax, eax);
        a.xor(ebx, ebx);
        a.mov(esi, area);
        a.mov(ecx, (uint)(areaBytes / 4));
        var sum = a.CreateLabel();
        a.Label(ref sum);
        a.add(eax, __dword_ptr[esi]);
        a.add(ebx, eax);
        a.add(esi, 4);
        a.dec(ecx);
        a.jnz(sum);
        a.call(serial.PutHex32);
        a.mov(al, (byte)' ');
        a.call(serial.PutChar);
        a.mov(eax, ebx);
        a.call(serial.PutHex32);
        a.mov(al, (byte)'\n');
        a.call(serial.PutChar);
        a.popad();
        a.ret(4);

        a.Label(ref after);
        return dump;
    }

    /// <summary>Emits a dump at this point; flags outside <paramref name="keepFlags"/> are cleared afterwards.</summary>
    public static void EmitCall(Assembler a, Label routine, uint keepFlags)
    {
        a.pushfd();
        a.push(keepFlags);
        a.call(routine);
        a.popfd();
    }

    /// <summary>Splits a dump line into named fields (null if it is not a dump line).</summary>
    public static IReadOnlyDictionary<string, uint>? Parse(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != Fields.Length) return null;
        var values = new Dictionary<string, uint>();
        for (int i = 0; i < parts.Length; i++)
        {
            if (!uint.TryParse(parts[i], System.Globalization.NumberStyles.HexNumber, null, out uint v)) return null;
            values[Fields[i]] = v;
        }
        return values;
    }

    /// <summary>Names the set arithmetic and control flags of an EFLAGS value, e.g. "CF ZF DF".</summary>
    public static string DescribeFlags(uint eflags)
    {
        (uint Bit, string Name)[] names =
        [
            (0x1, "CF"), (0x4, "PF"), (0x10, "AF"), (0x40, "ZF"), (0x80, "SF"), (0x100, "TF"), (0x200, "IF"),
            (0x400, "DF"), (0x800, "OF"), (0x3000, "IOPL"), (0x4000, "NT"), (0x40000, "AC"), (0x200000, "ID"),
        ];
        var set = names.Where(n => (eflags & n.Bit) != 0).Select(n => n.Name).ToArray();
        return set.Length == 0 ? "-" : string.Join(' ', set);
    }
}
