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
    private const uint LowCode = 0x8000;

    /// <summary>
    /// A routine at <paramref name="at"/> made of branches with a 16-bit operand size: loop and jecxz (o16), a call and
    /// its ret (o16), a jmp (o16). EAX ends at 3 * 0x10 + 6 = 0x36.
    /// </summary>
    private static byte[] SixteenBitBranches(uint at)
    {
        var a = new Assembler(32);
        var loop = a.CreateLabel();
        var leaf = a.CreateLabel();
        var skip = a.CreateLabel();
        var end = a.CreateLabel();
        a.xor(eax, eax);
        a.mov(ecx, 3u);
        a.Label(ref loop);
        a.add(eax, 0x10);
        a.AddInstruction(Instruction.CreateBranch(Code.Loop_rel8_16_ECX, loop.Id));
        a.AddInstruction(Instruction.CreateBranch(Code.Call_rel16, leaf.Id));
        a.AddInstruction(Instruction.CreateBranch(Code.Jecxz_rel8_16, skip.Id));   // ECX is 0: taken
        a.add(eax, 0x100);
        a.Label(ref skip);
        a.AddInstruction(Instruction.CreateBranch(Code.Jmp_rel16, end.Id));
        a.add(eax, 0x1000);
        a.Label(ref leaf);
        a.add(eax, 3);
        a.AddInstruction(Instruction.Create(Code.Retnw));
        a.Label(ref end);
        a.add(eax, 3);
        a.ret();
        var bytes = new Bytes();
        a.Assemble(bytes, at);
        return bytes.Data.ToArray();
    }

    private sealed class Bytes : CodeWriter
    {
        public readonly List<byte> Data = [];
        public override void WriteByte(byte value) => Data.Add(value);
    }

    public static TheoryData<string> Families => ["interrupt-flag", "descriptor-tables", "control-registers", "guest-gs", "far-transfers", "16-bit-branches"];

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
                case "16-bit-branches":
                    // Code below 64 KiB (16-bit branches cut EIP to 16 bits), written there as data, then called.
                    byte[] routine = SixteenBitBranches(LowCode);
                    for (int at = 0; at < routine.Length; at += 4)
                        a.mov(__dword_ptr[LowCode + (uint)at], BitConverter.ToInt32(routine.Concat(new byte[4]).ToArray(), at));
                    a.mov(edx, LowCode);
                    a.call(edx);
                    Show(eax);
                    break;
            }
        });
        var native = EngineCatalog.Get("native").Run(image, EngineFixtures.Options);
        if (family == "16-bit-branches") Assert.Equal("00000036 done\n", native.UartOutput);
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
