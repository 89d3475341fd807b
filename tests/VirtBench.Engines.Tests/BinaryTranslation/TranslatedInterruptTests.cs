using System.Globalization;
using Iced.Intel;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests.BinaryTranslation;

/// <summary>
/// Timer interrupts arriving while translated code runs (in the middle of in-TC sequences, chained jumps, the lookup
/// routine) are delivered at guest instruction boundaries: the handler sees the exact guest EIP of an instruction and
/// the guest's registers, never a translation-cache address or a register a sequence borrowed, and never the
/// instruction right after an sti that enabled interrupts (the sti shadow).
/// </summary>
public class TranslatedInterruptTests
{
    private const uint Records = 0x2_0000, Count = 0x1F90, Vector = 0x20;
    private const uint Ecx = 0x1234_5678, Eax = 0xCAFE_BABE;

    [Theory]
    [InlineData(7)]
    [InlineData(11)]
    [InlineData(13)]
    [InlineData(17)]
    [InlineData(23)]
    public void Interrupts_land_on_guest_instruction_boundaries_with_the_guests_registers(ushort reload)
    {
        var (image, code) = BareKernel.BuildWithCode($"irq-{reload}", (a, hex) => Body(a, hex, reload));
        var native = EngineCatalog.Get("native").Run(image, EngineFixtures.Options);
        var run = EngineCatalog.Get("binary-translation").Run(image, EngineFixtures.Options);

        var boundaries = InstructionStarts(code, out uint afterEnablingSti);
        foreach (var result in new[] { native, run })
        {
            Assert.True(result.Outcome.IsSuccess, result.Outcome.ToString());
            var lines = result.UartOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("done", lines[^1]);
            var eips = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => uint.Parse(t, NumberStyles.HexNumber)).ToList();
            Assert.True(eips.Count >= 20, $"only {eips.Count} interrupts ({result.Engine})");
            Assert.All(eips, eip => Assert.Contains(eip, boundaries));
            Assert.DoesNotContain(afterEnablingSti, eips);
        }
        Assert.True(run.Total[Event.ReflectedInterrupt] >= 20);
    }

    /// <summary>
    /// Programs the PIC (IRQ 0 at vector 0x20) and the PIT (mode 2, <paramref name="reload"/>), then runs a loop of
    /// pushfd, cli, popfd, a call and its ret, sti; the handler checks ECX and EAX, records the interrupted EIP, and the
    /// kernel prints every record.
    /// </summary>
    private static void Body(Assembler a, Label hex, ushort reload)
    {
        var install = a.CreateLabel();
        var bad = a.CreateLabel();
        var routine = a.CreateLabel();
        var loop = a.CreateLabel();
        var print = a.CreateLabel();

        // The handler, placed right after a call so that the call pushes its address.
        a.call(install);
        a.cmp(ecx, Ecx);
        a.jne(bad);
        a.cmp(eax, Eax);
        a.jne(bad);
        a.push(eax);
        a.push(edx);
        a.mov(edx, __dword_ptr[Count]);
        a.mov(eax, __dword_ptr[esp + 8]);
        a.mov(__dword_ptr[edx * 4 + Records], eax);
        a.inc(__dword_ptr[Count]);
        a.mov(al, 0x20);
        a.@out(0x20, al);                                // end of interrupt
        a.pop(edx);
        a.pop(eax);
        a.iretd();
        a.Label(ref bad);
        BareKernel.Print(a, "registers changed\n");
        a.hlt();

        a.Label(ref install);
        a.pop(eax);                                      // the handler's address
        a.mov(edx, eax);
        a.and(eax, 0xFFFF);
        a.or(eax, 0x0008_0000);
        a.mov(__dword_ptr[0x3000 + Vector * 8], eax);
        a.and(edx, unchecked((int)0xFFFF_0000));
        a.or(edx, 0x8E00);
        a.mov(__dword_ptr[0x3000 + Vector * 8 + 4], edx);
        a.mov(__word_ptr[0x1F08], (ushort)((Vector + 1) * 8 - 1));
        a.lidt(__[0x1F08]);
        foreach (var (port, value) in new (byte, byte)[] { (0x20, 0x11), (0x21, (byte)Vector), (0x21, 0x04), (0x21, 0x01), (0x21, 0xFE) })
        {
            a.mov(al, value);
            a.@out(port, al);
        }
        a.mov(al, 0x34);
        a.@out(0x43, al);
        a.mov(al, (byte)reload);
        a.@out(0x40, al);
        a.mov(al, (byte)(reload >> 8));
        a.@out(0x40, al);
        a.mov(__dword_ptr[Count], 0);

        a.mov(ecx, Ecx);
        a.mov(eax, Eax);
        a.mov(esi, 400u);
        a.sti();
        a.Label(ref loop);
        a.pushfd();
        a.cli();
        a.popfd();
        a.call(routine);
        a.cli();
        a.sti();                                         // sets IF: interrupts wait until the nop has run
        a.nop();
        a.dec(esi);
        a.jnz(loop);
        a.cli();

        // Print the records.
        a.xor(esi, esi);
        a.Label(ref print);
        a.mov(eax, __dword_ptr[esi * 4 + Records]);
        a.call(hex);
        BareKernel.Print(a, " ");
        a.inc(esi);
        a.cmp(esi, __dword_ptr[Count]);
        a.jb(print);
        BareKernel.Print(a, "\n");
        var skip = a.CreateLabel();
        a.jmp(skip);
        a.Label(ref routine);
        a.ret();
        a.Label(ref skip);
    }

    /// <summary>The EIP of every instruction of the kernel, and that of the nop after the loop's second sti.</summary>
    private static HashSet<uint> InstructionStarts(byte[] code, out uint afterEnablingSti)
    {
        var decoder = Decoder.Create(32, new ByteArrayCodeReader(code));
        decoder.IP = BareKernel.CodeBase;
        var starts = new HashSet<uint>();
        var previous = new List<Instruction>();
        afterEnablingSti = 0;
        while (decoder.IP < BareKernel.CodeBase + (ulong)code.Length)
        {
            decoder.Decode(out var i);
            starts.Add((uint)i.IP);
            if (i.Mnemonic == Mnemonic.Nop && previous.Count >= 2 && previous[^1].Mnemonic == Mnemonic.Sti && previous[^2].Mnemonic == Mnemonic.Cli)
                afterEnablingSti = (uint)i.IP;
            previous.Add(i);
        }
        Assert.NotEqual(0u, afterEnablingSti);
        return starts;
    }
}
