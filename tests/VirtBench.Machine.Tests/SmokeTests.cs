using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests;

public class SmokeTests
{
    [Fact]
    public void PrintsAndExits()
    {
        var image = TestImage.Build(a =>
        {
            a.mov(al, (byte)'H'); TestImage.PutAl(a);
            a.mov(al, (byte)'i'); TestImage.PutAl(a);
            a.mov(ecx, 1000u);
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.dec(ecx);
            a.jnz(loop);
            TestImage.Exit(a, 0);
        });
        var pc = new Pc(image);
        var outcome = pc.Run();
        Assert.Equal(OutcomeKind.DebugExit, outcome.Kind);
        Assert.Equal(1, outcome.ExitStatus);
        Assert.Equal("Hi", pc.Uart.Output);
        Assert.Equal(1000ul, pc.Counters.Instructions(ExecutionMode.Ring0, Iced.Intel.Mnemonic.Dec));
    }
}
