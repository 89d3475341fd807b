using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;

namespace VirtBench.Reports.Tests;

public sealed class PricingTests
{
    private static readonly CostProfile Modern = ProfileCatalog.Load("modern");

    private static Counters HandMade()
    {
        var c = new Counters();
        c.AddInstructions(ExecutionMode.Ring3, Mnemonic.Mov, 100);
        c.AddInstructions(ExecutionMode.Ring0, Mnemonic.Imul, 10);
        c.Add(Event.TlbMiss, 5);
        c.Add(Event.PageWalkReference, 10);
        c.Add(Event.ExitIo, 2);
        c.Add(Event.VmEntry, 2);
        c.Add(Event.VmcsRead, 20);
        c.Add(Event.InterpretedInstruction, 3);
        return c;
    }

    [Fact]
    public void CyclesAreCountsTimesCostsByCategory()
    {
        // modern: mov 1 (default), imul 3, TLB miss 0, walk reference 14, I/O exit 383, VM entry 318, VMCS read 5, interpretation 37.
        var cycles = Pricer.Price(HandMade(), Modern);
        Assert.Equal(100 * 1 + 10 * 3, cycles[EventCategory.GuestExecution]);
        Assert.Equal(5 * 0 + 10 * 14, cycles[EventCategory.Tlb]);
        Assert.Equal(2 * 383, cycles[EventCategory.VmExits]);
        Assert.Equal(2 * 318 + 20 * 5, cycles[EventCategory.VmEntriesAndVmcs]);
        Assert.Equal(3 * 37, cycles[EventCategory.Interpretation]);
        Assert.Equal(0, cycles[EventCategory.ShadowPaging]);
        Assert.Equal(1883, cycles.Total);
    }

    [Fact]
    public void PerOperationDividesEveryCategory()
    {
        var perOp = Pricer.Price(HandMade(), Modern).PerOperation(10);
        Assert.Equal(188.3, perOp.Total, 12);
        Assert.Equal(13, perOp[EventCategory.GuestExecution]);
        Assert.Equal(76.6, perOp[EventCategory.VmExits], 12);
    }

    [Fact]
    public void EmulationsArePricedOnceOnTheEmulationEvent()
    {
        var c = new Counters();
        c.AddEmulation(Mnemonic.Cli, 3);
        c.AddEmulation(Mnemonic.Mov, 2);
        var cycles = Pricer.Price(c, Modern);
        Assert.Equal(5 * Modern[Event.InstructionEmulated].Cycles, cycles.Total);
        Assert.Equal(cycles.Total, cycles[EventCategory.TrapsAndEmulation]);
    }

    [Fact]
    public void ReplacingEventCostsRepricesOnlyThoseEvents()
    {
        var doubled = Modern.WithEvents([(Event.ExitIo, new CostEntry(1000, "test"))], "+test");
        var before = Pricer.Price(HandMade(), Modern);
        var after = Pricer.Price(HandMade(), doubled);
        Assert.Equal(before.Total + 2 * (1000 - 383), after.Total);
        Assert.Equal(383, Modern[Event.ExitIo].Cycles); // the original is unchanged
    }
}
