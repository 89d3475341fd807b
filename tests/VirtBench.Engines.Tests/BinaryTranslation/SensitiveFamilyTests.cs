using Iced.Intel;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests.BinaryTranslation;

/// <summary>
/// Each family of sensitive instructions, translated, against its semantics on the bare machine and under emulation
/// (trap-and-emulate on the Popek-Goldberg CPU): the in-TC pushfd and popfd with every flag that matters (IF, IOPL,
/// the arithmetic flags, DF, AC), cli and sti keeping the flags, the descriptor and control-register callouts, and
/// instructions that use %gs, which translated code reserves.
/// </summary>
public class SensitiveFamilyTests
{
    public static TheoryData<string> Families => ["interrupt-flag", "descriptor-tables", "control-registers", "guest-gs", "far-transfers"];

    [Theory]
    [MemberData(nameof(Families))]
    public void A_translated_family_gives_what_the_bare_machine_and_the_emulator_give(string family)
    {
        var image = BareKernel.Build($"family-{family}", (a, hex) =>
        {
            void Show(AssemblerRegister32 r)
            {
                if (r != eax) a.mov(eax, r);
                a.call(hex);
                BareKernel.Print(a, " ");
            }
            switch (family)
            {
                case "interrupt-flag":
                    foreach (uint flags in new uint[] { 0x0000_0002, 0x0000_0202, 0x0000_08D7, 0x0000_0AD7 | 0x400, 0x0000_3202, 0x0004_1202 })
                    {
                        a.push(flags);
                        a.popfd();
                        a.pushfd();
                        a.pop(eax);
                        Show(eax);
                    }
                    a.push(0x0000_0002);
                    a.popfd();
                    a.stc();
                    a.sti();
                    a.cli();
                    a.pushfd();                            // CF still set, IF clear again
                    a.pop(eax);
                    Show(eax);
                    a.sti();
                    a.std();
                    a.pushfd();
                    a.pop(eax);
                    Show(eax);
                    a.cld();
                    a.cli();
                    break;
                case "descriptor-tables":
                    a.sgdt(__[0x1E00]);
                    a.mov(eax, __dword_ptr[0x1E02]);
                    Show(eax);
                    a.sidt(__[0x1E08]);
                    a.movzx(eax, __word_ptr[0x1E08]);
                    Show(eax);
                    a.mov(eax, cs);
                    Show(eax);
                    a.mov(eax, ss);
                    Show(eax);
                    a.push(cs);
                    a.pop(eax);
                    Show(eax);
                    a.mov(ecx, 0x08u);                    // never loaded from this GDT: its accessed bit is clear everywhere
                    a.lar(eax, ecx);
                    Show(eax);
                    a.lsl(eax, ecx);
                    Show(eax);
                    a.mov(eax, 0x10u);
                    a.mov(ss, ax);
                    a.str(ax);
                    Show(eax);
                    break;
                case "control-registers":
                    a.mov(eax, cr0);
                    Show(eax);
                    a.smsw(eax);
                    Show(eax);
                    a.mov(eax, 0x1234_5000u);
                    a.mov(cr2, eax);
                    a.mov(ebx, cr2);
                    Show(ebx);
                    a.xor(eax, eax);
                    a.cpuid();
                    Show(ebx);
                    a.mov(ecx, 0x174u);
                    a.mov(eax, 0x08u);
                    a.xor(edx, edx);
                    a.wrmsr();
                    a.xor(eax, eax);
                    a.rdmsr();
                    Show(eax);
                    break;
                case "guest-gs":
                    a.mov(eax, 0x10u);
                    a.mov(gs, ax);
                    a.mov(__dword_ptr.gs[0x5000], 0x1122_3344);
                    a.mov(eax, __dword_ptr.gs[0x5000]);
                    Show(eax);
                    a.mov(eax, gs);
                    Show(eax);
                    a.push(gs);
                    a.pop(ebx);
                    Show(ebx);
                    a.xor(eax, eax);
                    a.mov(gs, ax);
                    a.mov(eax, gs);
                    Show(eax);
                    break;
                case "far-transfers":
                    var far = a.CreateLabel();
                    var back = a.CreateLabel();
                    a.call(far);                           // pushes the address of the far pointer's target below
                    a.Label(ref back);
                    a.mov(eax, 0xFA5u);
                    Show(eax);
                    var end = a.CreateLabel();
                    a.jmp(end);
                    a.Label(ref far);
                    a.pop(eax);
                    a.mov(__dword_ptr[0x1E20], eax);
                    a.mov(__word_ptr[0x1E24], 0x08);
                    a.jmp(__fword_ptr[0x1E20]);            // jmp far 0x08:back
                    a.Label(ref end);
                    break;
            }
        });
        var native = EngineCatalog.Get("native").Run(image, EngineFixtures.Options);
        var emulated = EngineCatalog.Get("trap-emulate-pg").Run(image, EngineFixtures.Options);
        var translated = EngineCatalog.Get("binary-translation").Run(image, EngineFixtures.Options);

        Assert.EndsWith("done\n", native.UartOutput);
        Assert.Equal(native.UartOutput, emulated.UartOutput);
        Assert.Equal(native.UartOutput, translated.UartOutput);
        Assert.Equal(0ul, translated.Total.Instructions(ExecutionMode.Ring0) + translated.Total.Instructions(ExecutionMode.Ring1));
        if (family == "guest-gs") Assert.True(translated.Total[Event.BtCalloutDescriptorTable] >= 7); // each %gs user takes it back
        if (family == "interrupt-flag")
        {
            // The kernel's first cli, then 6 x (popfd, pushfd), popfd sti cli pushfd, sti pushfd cli: all in the cache.
            Assert.Equal(20ul, translated.Total[Event.BtInTcEmulation]);
            foreach (var m in new[] { Mnemonic.Cli, Mnemonic.Sti, Mnemonic.Pushfd, Mnemonic.Popfd }) Assert.Equal(0ul, translated.Total.Emulations(m));
        }
    }
}
