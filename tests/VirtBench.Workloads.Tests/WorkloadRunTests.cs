using VirtBench.Machine;
using VirtBench.Workloads.Tests.Runners;

namespace VirtBench.Workloads.Tests;

/// <summary>Every workload boots, prints exactly the expected result line and exits with success.</summary>
public abstract class WorkloadRunTests(GuestRunner runner)
{
    /// <summary>Small iteration counts that still cross the interesting paths (e.g. pgfault's 64-page rounds).</summary>
    public static TheoryData<string, uint> Cases()
    {
        var data = new TheoryData<string, uint>();
        foreach (var workload in WorkloadCatalog.All)
            data.Add(workload.Name, workload.Name == "pgfault" ? 100u : 25u);
        return data;
    }

    /// <summary>Every workload at its default iteration count (what reports run).</summary>
    public static TheoryData<string, uint> Defaults()
    {
        var data = new TheoryData<string, uint>();
        foreach (var workload in WorkloadCatalog.All) data.Add(workload.Name, workload.DefaultIterations);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    [MemberData(nameof(Defaults))]
    public void Workload_prints_its_expected_result_and_exits_successfully(string name, uint iterations)
    {
        Skip.If(runner.UnavailableReason is not null, runner.UnavailableReason);
        var workload = WorkloadCatalog.Get(name);
        var result = runner.Run(ImageBuilder.Build(workload, runner.Flavor, iterations));

        Assert.True(result.Succeeded, result.Describe());
        Assert.Equal(["VirtBench guest kernel", workload.ExpectedResultLine(iterations)], result.Lines);
    }
}

/// <summary><see cref="WorkloadRunTests"/> on QEMU.</summary>
public sealed class QemuWorkloadRunTests() : WorkloadRunTests(new QemuRunner());

/// <summary><see cref="WorkloadRunTests"/> on the native engine.</summary>
public sealed class NativeWorkloadRunTests() : WorkloadRunTests(new EngineRunner("native"));

/// <summary><see cref="WorkloadRunTests"/> on the emulation engine.</summary>
public sealed class EmulationWorkloadRunTests() : WorkloadRunTests(new EngineRunner("emulation"));

/// <summary><see cref="WorkloadRunTests"/> on the binary-translation engine.</summary>
public sealed class BinaryTranslationWorkloadRunTests() : WorkloadRunTests(new EngineRunner("binary-translation"));

/// <summary><see cref="WorkloadRunTests"/> on the paravirt engine (paravirtual kernel).</summary>
public sealed class ParavirtWorkloadRunTests() : WorkloadRunTests(new EngineRunner("paravirt"));
/// <summary><see cref="WorkloadRunTests"/> on trap-and-emulate on the Popek-Goldberg CPU (real x86's trap-emulate may diverge: see the engine tests).</summary>
public sealed class TrapEmulatePgWorkloadRunTests() : WorkloadRunTests(new EngineRunner("trap-emulate-pg"));
