using Iced.Intel;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests.BinaryTranslation;

/// <summary>
/// Kernel code that writes its own instructions: the translator traces the pages it translated, drops the
/// translations whose bytes a write touches (counted), and runs the new bytes, as the bare machine does: the next
/// instruction in the same unit, a routine translated before, an immediate changed every iteration, code written to a
/// data page and rewritten.
/// </summary>
public class SelfModifyingKernelTests
{
    private const uint Scratch = 0x3_0000;

    private const string Expected =
        "0000002a 11223344 0000aaaa 0000bbbb 00000000 00000005 0000000a 00000001 00000002 00000041 00000042 done\n";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Patched_kernel_code_is_retranslated_and_behaves_as_on_native(bool paging)
    {
        var image = BareKernel.Build("self-modifying", (a, hex) => Body(a, hex, paging));
        var native = EngineCatalog.Get("native").Run(image, EngineFixtures.Options);
        var run = EngineCatalog.Get("binary-translation").Run(image, EngineFixtures.Options);

        Assert.Equal(Expected, native.UartOutput);
        Assert.Equal(native.UartOutput, run.UartOutput);
        // A patch of bytes already translated drops the units holding them: the routine (1), the loop's instruction at
        // each of its three patches (3), the data page's rewritten code (1), and the routine that patches the instruction
        // ahead of it in its own unit: at its first run its unit (1), at its second the unit made for its start and the one
        // the first run made from its nop on (2). Patches of code not translated yet drop nothing.
        Assert.Equal(8ul, run.Total[Event.BtInvalidation]);
        Assert.Equal(0ul, run.Total.Instructions(ExecutionMode.Ring0) + run.Total.Instructions(ExecutionMode.Ring1));
    }

    private static void Body(Assembler a, Label hex, bool paging)
    {
        if (paging) BareKernel.EnablePaging(a);
        void Show()
        {
            a.call(hex);
            BareKernel.Print(a, " ");
        }

        // The next instruction, in the same unit: its immediate byte.
        var patched = a.CreateLabel();
        var getPatched = a.CreateLabel();
        a.call(getPatched);
        a.Label(ref patched);
        a.mov(eax, 0u);                                    // B8 id: replaced by 0x2A before it runs
        var afterPatched = a.CreateLabel();
        a.jmp(afterPatched);
        a.Label(ref getPatched);
        a.mov(edi, __dword_ptr[esp]);                      // edi = patched
        a.mov(__byte_ptr[edi + 1], 0x2A);
        a.ret();                                           // runs it
        a.Label(ref afterPatched);
        Show();

        // Three instructions ahead, the whole immediate.
        var ahead = a.CreateLabel();
        var getAhead = a.CreateLabel();
        var afterAhead = a.CreateLabel();
        a.call(getAhead);
        a.Label(ref ahead);
        a.mov(eax, 0u);
        a.jmp(afterAhead);
        a.Label(ref getAhead);
        a.pop(edi);
        a.mov(__dword_ptr[edi + 1], 0x1122_3344);
        a.nop();
        a.nop();
        a.jmp(ahead);
        a.Label(ref afterAhead);
        Show();

        // A routine translated before, then patched.
        var routine = a.CreateLabel();
        var getRoutine = a.CreateLabel();
        var afterRoutine = a.CreateLabel();
        a.call(getRoutine);
        a.Label(ref routine);
        a.mov(eax, 0xAAAAu);
        a.ret();
        a.Label(ref getRoutine);
        a.pop(edi);
        a.call(edi);
        Show();
        a.mov(__dword_ptr[edi + 1], 0xBBBB);
        a.call(edi);
        Show();

        // A loop that adds 5 to its own immediate each iteration.
        a.mov(ebx, 3u);
        var loop = a.CreateLabel();
        var getLoop = a.CreateLabel();
        a.call(getLoop);
        a.Label(ref loop);
        a.mov(eax, 0u);
        a.push(edi);
        Show();
        a.pop(edi);
        a.add(__dword_ptr[edi + 1], 5);
        a.dec(ebx);
        a.jz(afterRoutine);
        a.jmp(loop);
        a.Label(ref getLoop);
        a.pop(edi);
        a.jmp(loop);
        a.Label(ref afterRoutine);

        // Code written to a data page, run, rewritten, run again.
        a.mov(__dword_ptr[Scratch], 0x0000_01B8);         // mov eax, 1
        a.mov(__dword_ptr[Scratch + 4], 0x0000_C300);     // ...; ret
        a.mov(eax, Scratch);
        a.call(eax);
        Show();
        a.mov(__byte_ptr[Scratch + 1], 2);                // mov eax, 2
        a.mov(eax, Scratch);
        a.call(eax);
        Show();

        // A routine that patches an instruction ahead of it in its own unit, translated before it runs:
        // mov [Scratch + 0x49], bl; nop; nop; mov al, 0; ret (the patched byte is mov al's immediate).
        const uint Routine = Scratch + 0x40;
        a.mov(__dword_ptr[Routine], 0x0000_1D88 | ((Routine + 9) & 0xFFFF) << 16);
        a.mov(__dword_ptr[Routine + 4], ((Routine + 9) >> 16) | 0x9090_0000);
        a.mov(__dword_ptr[Routine + 8], 0x00C3_00B0);
        foreach (byte value in new byte[] { 0x41, 0x42 })
        {
            a.xor(eax, eax);
            a.mov(ebx, value);
            a.mov(edx, Routine);
            a.call(edx);
            Show();
        }
    }
}
