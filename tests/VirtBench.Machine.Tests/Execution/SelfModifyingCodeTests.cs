using VirtBench.Machine.Tests.Differential;
using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Execution;

/// <summary>
/// Code that writes instructions it is about to execute: the machine must run the new bytes (its decoded
/// blocks are invalidated by the write), as QEMU and hardware do.
/// </summary>
public class SelfModifyingCodeTests
{
    private const string Expected =
        "ahead in the same block: 0000002a\n" +
        "three instructions ahead: 11223344\n" +
        "a routine run before: 0000aaaa then 0000bbbb\n" +
        "its own immediate, each iteration: 00000000 00000005 0000000a \n" +
        "code written to a data page: 00000001 then 00000002\n";

    private static AssembledGuest Build() => TestKernel.Build(k =>
    {
        var a = k.Asm;
        var p = k.Program;
        void Hex() { k.Serial.PrintHex(p, eax); }

        k.Serial.Print(p, "ahead in the same block: ");
        var patched = p.CreateLabel("same_block");
        a.mov(eax, 0u);
        a.mov(__byte_ptr[p.Address(patched) + 1], 0x2A);
        p.Place(ref patched);
        a.mov(al, 0x01); // B0 ib: the immediate is byte 1
        Hex();

        k.Serial.Print(p, "\nthree instructions ahead: ");
        var ahead = p.CreateLabel("ahead");
        a.mov(__dword_ptr[p.Address(ahead) + 1], 0x1122_3344);
        a.nop(); a.nop();
        p.Place(ref ahead);
        a.mov(eax, 0u); // B8 id
        Hex();

        k.Serial.Print(p, "\na routine run before: ");
        var routine = p.CreateLabel("routine");
        var afterRoutine = p.CreateLabel();
        a.jmp(afterRoutine);
        p.Place(ref routine);
        a.mov(eax, 0xAAAAu);
        a.ret();
        a.Label(ref afterRoutine);
        a.call(routine);
        Hex();
        k.Serial.Print(p, " then ");
        a.mov(__dword_ptr[p.Address(routine) + 1], 0xBBBB);
        a.call(routine);
        Hex();

        k.Serial.Print(p, "\nits own immediate, each iteration: ");
        a.mov(ecx, 3u);
        var loop = p.CreateLabel("loop");
        p.Place(ref loop);
        a.mov(eax, 0u);
        Hex();
        a.mov(al, (byte)' ');
        a.call(k.Serial.PutChar);
        a.add(__dword_ptr[p.Address(loop) + 1], 5);
        a.dec(ecx);
        a.jnz(loop);

        k.Serial.Print(p, "\ncode written to a data page: ");
        const uint code = KernelLayout.Scratch;
        a.mov(__dword_ptr[code], 0x0000_01B8);        // mov eax, 1
        a.mov(__dword_ptr[code + 4], 0x0000_C300);    // ...; ret
        a.mov(eax, code);
        a.call(eax);
        Hex();
        k.Serial.Print(p, " then ");
        a.mov(__byte_ptr[code + 1], 2);               // mov eax, 2
        a.mov(eax, code);
        a.call(eax);
        Hex();
        k.Serial.Print(p, "\n");
        k.Exit(0);
    }, name: "self-modifying");

    [Fact]
    public void RunsTheNewBytes()
    {
        var pc = new Pc(Build().Image);
        var outcome = pc.Run();
        Assert.Equal(Expected, pc.Uart.Output);
        Assert.True(outcome.IsSuccess, outcome.ToString());
    }

    [SkippableFact]
    public void MatchesQemu()
    {
        QemuOracle.SkipIfUnavailable();
        var (qemu, ours, _) = QemuOracle.Run(Build().Image);
        Assert.Equal(Expected, qemu);
        Assert.Equal(qemu, ours);
    }
}
