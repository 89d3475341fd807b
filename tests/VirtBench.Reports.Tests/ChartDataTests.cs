using VirtBench.Machine;
using VirtBench.Reports.Charts;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Testing;

namespace VirtBench.Reports.Tests;

public sealed class ChartDataTests
{
    private static readonly CostProfile Modern = ProfileCatalog.Load("modern");

    [Fact]
    public void ExitCostRepricingScalesExitsAndEntriesToTheRequestedRoundTrip()
    {
        Assert.Equal(253 + 318, ExitCostSensitivityChart.RoundTrip(Modern));
        var doubled = ExitCostSensitivityChart.WithRoundTrip(Modern, 2 * 571);
        Assert.Equal(2 * 571, ExitCostSensitivityChart.RoundTrip(doubled), 9);
        Assert.Equal(2 * 383, doubled[Event.ExitIo].Cycles, 9);
        Assert.Equal(Modern[Event.VmcsRead], doubled[Event.VmcsRead]);
        Assert.Equal(Modern[Event.TrapPrivilegedInstruction], doubled[Event.TrapPrivilegedInstruction]);
    }

    [Fact]
    public void OnlyEnginesWithExitsAreSensitiveToTheExitCost()
    {
        var results = SuitePricer.Apply(SuiteFixture.Run(), Modern);
        double Mean(string engine, double roundTrip) =>
            ExitCostSensitivityChart.MeanOverhead(results, engine, ExitCostSensitivityChart.WithRoundTrip(Modern, roundTrip));

        // hw-shadow per op: native's 229 + an I/O exit and an entry (scaled together) + ten VMCS reads (5 each).
        double f = 1000.0 / 571;
        Assert.Equal((229 + (383 + 318) * f + 50) / 229, Mean("hw-shadow", 1000), 9);
        Assert.True(Mean("hw-shadow", 3000) > Mean("hw-shadow", 1000));
        Assert.Equal(Mean("paravirt", 100), Mean("paravirt", 4000), 12);
    }

    [Fact]
    public void VmmEntriesCountTrapsExitsHypercallsAndCalloutsButNotBatchEntries()
    {
        var results = SuiteFixture.Run();
        Assert.Equal(0, VmmEntriesChart.PerOperation(results.Find("native", "syscall")!));
        Assert.Equal(1, VmmEntriesChart.PerOperation(results.Find("trap-emulate-pg", "syscall")!)); // the trap; not its reflection
        Assert.Equal(1, VmmEntriesChart.PerOperation(results.Find("hw-shadow", "syscall")!));      // the exit; not entry or VMCS reads
        Assert.Equal(1, VmmEntriesChart.PerOperation(results.Find("paravirt", "syscall")!));       // the mmu_update; not its 4 entries
        Assert.True(VmmEntriesChart.IsVmmEntry(Event.BtCalloutIo));
        Assert.False(VmmEntriesChart.IsVmmEntry(Event.BtInTcEmulation));
        Assert.True(VmmEntriesChart.IsVmmEntry(Event.BouncedException));
        Assert.True(VmmEntriesChart.IsVmmEntry(Event.BouncedSystemCall));
        Assert.False(VmmEntriesChart.IsVmmEntry(Event.PageTableEntryValidated)); // work inside a hypercall, like batch entries
        Assert.False(VmmEntriesChart.IsVmmEntry(Event.FastSystemCall));
        Assert.False(VmmEntriesChart.IsVmmEntry(Event.EventUpcall));             // the interrupt's trap is the entry
    }
}
