using VirtBench.Engines;
using VirtBench.Reports.Results;
using VirtBench.Reports.Suite;
using VirtBench.Testing;

namespace VirtBench.Reports.Tests;

/// <summary>Runs the fake suite used by several tests.</summary>
internal static class SuiteFixture
{
    public static IReadOnlyList<IEngine> Engines { get; } =
        [FakeEngine.Native(), FakeEngine.TrapAndEmulate(), FakeEngine.HardwareAssisted(), FakeEngine.Paravirtual()];

    public static SuiteResults Run(IReadOnlyList<IEngine>? engines = null, int jobs = 2, double scale = 1) =>
        SuiteRunner.Run(new SuiteOptions { Engines = engines ?? Engines, Workloads = FakeWorkloads.All, Jobs = jobs, IterationScale = scale });
}
