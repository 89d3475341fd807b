using VirtBench.Engines;

namespace VirtBench.Engines.Tests;

/// <summary>Same engine, workload and parameters: identical counts, output and outcome on every run.</summary>
public class DeterminismTests
{
    public static TheoryData<string, string> Pairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in EngineCatalog.All)
            foreach (var workload in new[] { "syscall", "forkwait", "ctxswitch", "server" })
                data.Add(engine.Name, workload);
        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Two_runs_give_identical_counts(string engine, string workload)
    {
        uint n = EngineFixtures.SmallIterations(workload);
        var first = EngineFixtures.Run(engine, workload, n);
        var second = EngineFixtures.Run(engine, workload, n);
        Assert.True(first.Outcome.IsSuccess, first.Outcome.ToString());
        Assert.Equal(first.Outcome, second.Outcome);
        Assert.Equal(first.UartOutput, second.UartOutput);
        Assert.True(first.Total.SameAs(second.Total), "whole-run counts differ between two runs");
        Assert.NotNull(first.Measured);
        Assert.True(first.Measured!.SameAs(second.Measured!), "measured-region counts differ between two runs");
        Assert.Equal(first.Operations, second.Operations);
    }
}
