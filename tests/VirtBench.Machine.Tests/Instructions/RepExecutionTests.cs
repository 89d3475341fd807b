using Iced.Intel;
using VirtBench.Machine.Monitor;
using VirtBench.Machine.Tests.Vmx;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>How a rep string instruction runs: one retired instruction, one tick per element, bounded by the budget, exits as a unit.</summary>
public class RepExecutionTests
{
    private const uint Buffer = 0x30_0000;

    private static (Pc Pc, uint RepEip) Build(Action<Assembler> setup, Action<Assembler> rep, MachineOptions? options = null)
    {
        var image = TestImage.Build(a =>
        {
            setup(a);
            rep(a);
            TestImage.Exit(a, 0);
        });
        var pc = new Pc(image, options);
        // The rep is the instruction after the setup; find it by decoding from the entry point.
        var decoder = Decoder.Create(32, new ByteArrayCodeReader(image.Bytes[(int)Multiboot.HeaderSize..]));
        decoder.IP = TestImage.CodeBase;
        uint repEip = (uint)decoder.First(i => i.HasRepPrefix || i.HasRepnePrefix).IP;
        return (pc, repEip);
    }

    [Fact]
    public void RepRetiresOnceAndAdvancesTimePerElement()
    {
        var (pc, _) = Build(a => { a.mov(edi, Buffer); a.mov(ecx, 1000u); }, a => a.rep.stosd());
        Assert.True(pc.Run().IsSuccess);
        Assert.Equal(1ul, pc.Counters.Instructions(ExecutionMode.Ring0, Mnemonic.Stosd));
        Assert.Equal(pc.Cpu.Retired + 999, pc.Cpu.Ticks);
        Assert.Equal(Buffer + 4000, pc.Cpu.Edi);
    }

    [Fact]
    public void TheBudgetStopsALongRepPartWayInARestartableState()
    {
        var (pc, repEip) = Build(a => { a.mov(edi, Buffer); a.mov(ecx, 0x10_0000u); }, a => a.rep.stosd(),
            new MachineOptions { InstructionBudget = 100_000 });
        var outcome = pc.Run();
        Assert.Equal(OutcomeKind.BudgetExhausted, outcome.Kind);
        Assert.Equal(repEip, pc.Cpu.Eip);
        uint done = (pc.Cpu.Edi - Buffer) / 4;
        Assert.InRange(done, 90_000u, 100_000u);
        Assert.Equal(0x10_0000u, done + pc.Cpu.Ecx);
        Assert.Equal(0ul, pc.Counters.Instructions(ExecutionMode.Ring0, Mnemonic.Stosd));
    }

    [Fact]
    public void RepOutsbWritesEveryElementToThePort()
    {
        var (pc, _) = Build(a =>
        {
            a.mov(__dword_ptr[Buffer], 0x6C6C_6568u); // "hell"
            a.mov(__byte_ptr[Buffer + 4], (byte)'o');
            a.mov(esi, Buffer);
            a.mov(ecx, 5u);
            a.mov(dx, (ushort)Platform.Com1Port);
        }, a => a.rep.outsb());
        Assert.True(pc.Run().IsSuccess);
        Assert.Equal("hello", pc.Uart.Output);
        Assert.Equal(Buffer + 5, pc.Cpu.Esi);
    }

    [Fact]
    public void StringIoExitsToTheVmmBeforeAnyElementWithTheStringAndRepBits()
    {
        var image = TestImage.Build(a =>
        {
            a.mov(esi, Buffer);
            a.mov(ecx, 5u);
            a.mov(dx, (ushort)Platform.Com1Port);
            a.rep.outsb();
            TestImage.Exit(a, 0);
        });
        var vmx = VmxHarness.Launch(image, h => h.SetControls(VmcsField.ProcessorBasedControls, (uint)ProcessorBasedControls.UnconditionalIoExiting));
        Assert.Equal(OutcomeKind.EngineStop, vmx.Pc.Run().Kind);
        var exit = Assert.Single(vmx.Exits);
        Assert.Equal(VmExitReason.IoInstruction, exit.Reason);
        Assert.Equal(new IoQualification(Platform.Com1Port, 1, In: false, String: true, Rep: true), IoQualification.Decode(exit.Qualification));
        Assert.Equal(2, exit.InstructionLength);
        Assert.Equal(1u << 7 | 3u << 15, exit.InstructionInfo); // 32-bit addresses, DS
        Assert.Equal(Buffer, exit.GuestLinearAddress);
        Assert.Equal(exit.Instruction.IP, vmx.Pc.Cpu.Eip);
        Assert.Equal(5u, vmx.Pc.Cpu.Ecx);
        Assert.Equal("", vmx.Pc.Uart.Output);
    }
}
