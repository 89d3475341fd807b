using VirtBench.Machine;

namespace VirtBench.Engines.Tests;

/// <summary>
/// Under VT-x (with shadow or nested paging) the guest runs natively at ring 0 and the VMM completes each exiting
/// instruction in the guest's place: per mnemonic, native's retired count equals retired + emulated, so the guest
/// keeps native's timeline (timer interrupts at the same instructions) and native's output.
/// </summary>
public class VmxTimelineTests
{
    public static TheoryData<string, string> Pairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in new[] { "hw-shadow", "hw-ept" })
            foreach (var workload in EngineFixtures.Workloads())
                data.Add(engine, workload);
        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void The_guest_runs_natives_exact_instruction_stream(string engine, string workload)
    {
        uint n = EngineFixtures.SmallIterations(workload);
        var native = EngineFixtures.Run("native", workload, n);
        var vmx = EngineFixtures.Run(engine, workload, n);

        Assert.Equal(native.Outcome, vmx.Outcome);
        Assert.Equal(native.UartOutput, vmx.UartOutput);
        foreach (var (part, bare, virtualized) in new[] { ("whole run", native.Total, vmx.Total), ("measured region", native.Measured!, vmx.Measured!) })
        {
            var differences = EngineFixtures.StreamDifferences(bare, virtualized);
            Assert.True(differences.Count == 0, $"{part}: {string.Join("; ", differences)}");
            Assert.Equal(bare.TotalInstructions, virtualized.Instructions(ExecutionMode.Ring0) + virtualized.Instructions(ExecutionMode.Ring3)
                + virtualized[Event.InstructionEmulated]);
        }
    }
}
