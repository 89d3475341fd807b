using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Devices;

/// <summary>The bench port snapshots the counters over the measured regions the guest marks.</summary>
public class BenchPortTests
{
    private static void Region(Assembler a, uint operations, int nops)
    {
        a.mov(eax, operations);
        a.@out((byte)Platform.BenchOpsPort, eax);
        a.mov(eax, Platform.BenchBegin);
        a.@out((byte)Platform.BenchControlPort, eax); // retires inside the region: the snapshot is taken as it executes
        for (int i = 0; i < nops; i++) a.nop();
        a.mov(eax, Platform.BenchEnd);                 // inside too
        a.@out((byte)Platform.BenchControlPort, eax); // outside: the closing snapshot is taken before it retires
    }

    [Fact]
    public void MeasuresExactlyTheMarkedInstructions()
    {
        var pc = new Pc(TestImage.Build(a =>
        {
            for (int i = 0; i < 10; i++) a.nop(); // not measured
            Region(a, 100, 100);
            TestImage.Exit(a);
        }));
        Assert.True(pc.Run().IsSuccess);
        var region = pc.Bench.Measured!;
        Assert.Equal(100ul, region.Instructions(ExecutionMode.Ring0, Mnemonic.Nop));
        Assert.Equal(1ul, region.Instructions(ExecutionMode.Ring0, Mnemonic.Out));
        Assert.Equal(1ul, region.Instructions(ExecutionMode.Ring0, Mnemonic.Mov));
        Assert.Equal(102ul, region.TotalInstructions);
        Assert.Equal(100ul, pc.Bench.Operations);
        Assert.False(pc.Bench.IsOpen);
        Assert.Equal(110ul, pc.Counters.Instructions(ExecutionMode.Ring0, Mnemonic.Nop)); // the run's counters still see everything
    }

    [Fact]
    public void RegionsAccumulate()
    {
        var pc = new Pc(TestImage.Build(a =>
        {
            Region(a, 7, 30);
            for (int i = 0; i < 10; i++) a.nop();
            Region(a, 5, 12);
            TestImage.Exit(a);
        }));
        Assert.True(pc.Run().IsSuccess);
        Assert.Equal(42ul, pc.Bench.Measured!.Instructions(ExecutionMode.Ring0, Mnemonic.Nop));
        Assert.Equal(12ul, pc.Bench.Operations);
    }

    [Fact]
    public void NoRegionMeansNoMeasurement()
    {
        var pc = new Pc(TestImage.Build(a =>
        {
            a.mov(eax, Platform.BenchBegin);
            a.@out((byte)Platform.BenchControlPort, eax); // opened, never closed
            TestImage.Exit(a);
        }));
        Assert.True(pc.Run().IsSuccess);
        Assert.Null(pc.Bench.Measured);
        Assert.True(pc.Bench.IsOpen);
    }
}
