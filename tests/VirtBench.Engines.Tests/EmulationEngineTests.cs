using VirtBench.Machine;

namespace VirtBench.Engines.Tests;

/// <summary>Full emulation runs exactly what native runs; it only adds one interpreted instruction per instruction.</summary>
public class EmulationEngineTests
{
    [Theory]
    [MemberData(nameof(EngineFixtures.Workloads), MemberType = typeof(EngineFixtures))]
    public void Emulation_matches_native_output_and_counts(string workload)
    {
        uint n = EngineFixtures.SmallIterations(workload);
        var native = EngineFixtures.Run("native", workload, n);
        var emulation = EngineFixtures.Run("emulation", workload, n);

        Assert.Equal(native.Outcome, emulation.Outcome);
        Assert.Equal(native.UartOutput, emulation.UartOutput);
        foreach (var (whole, nativeCounts, emulationCounts) in new[] { ("total", native.Total, emulation.Total), ("measured", native.Measured!, emulation.Measured!) })
        {
            Assert.Equal(emulationCounts.TotalInstructions, emulationCounts[Event.InterpretedInstruction]);
            Assert.Equal(0ul, nativeCounts[Event.InterpretedInstruction]);
            var withoutInterpretation = emulationCounts.Snapshot();
            withoutInterpretation.Add(Event.InterpretedInstruction, unchecked(0ul - emulationCounts[Event.InterpretedInstruction]));
            Assert.True(nativeCounts.SameAs(withoutInterpretation), $"{whole} counts differ beyond InterpretedInstruction");
        }
    }
}
