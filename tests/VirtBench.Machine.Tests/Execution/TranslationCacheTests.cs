using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Execution;

/// <summary>
/// The CPU's second instruction source: code fetched from machine memory (a translation cache) retires in
/// <see cref="ExecutionMode.Translated"/> while its data goes through the guest's segments, and execution probes
/// count how often chosen instructions retired without changing what runs.
/// </summary>
public class TranslationCacheTests
{
    private const uint Counter = 0x1000;

    [Fact]
    public void TranslatedCodeRetiresAsTranslatedAndProbesCountItsInstructions()
    {
        var pc = new Pc(TestImage.Build(a => TestImage.Exit(a)), new MachineOptions { VmmBytes = 1u << 20 });
        uint tc = pc.Memory.VmmBase;
        var a = new Assembler(32);
        var loop = a.CreateLabel();
        a.mov(ecx, 5u);
        a.Label(ref loop);
        a.mov(eax, __dword_ptr[Counter]);
        a.inc(eax);
        a.mov(__dword_ptr[Counter], eax);
        a.dec(ecx);
        a.jnz(loop);
        TestImage.Exit(a);
        var code = new CodeBytes();
        var result = a.Assemble(code, tc, BlockEncoderOptions.ReturnNewInstructionOffsets);
        pc.Memory.Write(tc, code.Bytes.ToArray());
        var counts = new ulong[2];
        pc.Cpu.AddProbe(tc + result.Result[0].NewInstructionOffsets[2], counts, 0);   // inc: five times
        pc.Cpu.AddProbe(tc + result.Result[0].NewInstructionOffsets[2], counts, 1);   // a second probe on it
        pc.Cpu.AddProbe(tc + result.Result[0].NewInstructionOffsets[0], Event.BtUnitTranslated); // mov ecx: once
        pc.Cpu.EnterTranslationCache(tc);

        var outcome = pc.Run();

        Assert.Equal(OutcomeKind.DebugExit, outcome.Kind);
        Assert.Equal(5u, pc.Memory.Read32(Counter));
        Assert.Equal(5ul, counts[0]);
        Assert.Equal(5ul, counts[1]);
        Assert.Equal(1ul, pc.Counters[Event.BtUnitTranslated]);
        Assert.Equal(1ul + 5 * 5 + 2, pc.Counters.Instructions(ExecutionMode.Translated)); // mov ecx, the loop, mov eax and out
        Assert.Equal(0ul, pc.Counters.Instructions(ExecutionMode.Ring0));
    }

    private sealed class CodeBytes : CodeWriter
    {
        public readonly List<byte> Bytes = [];
        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
