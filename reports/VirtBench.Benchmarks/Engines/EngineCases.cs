using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Workloads;

namespace VirtBench.Benchmarks.Engines;

/// <summary>
/// What an engine benchmark case runs, shared by the benchmark (in its own process) and the columns that count
/// the same run in the host process: an engine from <see cref="EngineCatalog"/> on a workload's image.
/// </summary>
public static class EngineCases
{
    /// <summary>The workloads benchmarked when none are named: one per kind of cost (trap, paging, processes, switches, plain code).</summary>
    public static IReadOnlyList<string> DefaultWorkloads { get; } = ["syscall", "pgfault", "forkwait", "ctxswitch", "compute"];

    /// <summary>
    /// The sizes every case runs at, as multiples of the workload's default iterations: two, so that boot cancels
    /// out, and large enough (tens of millions of guest instructions) that a run's fixed costs and the host's noise
    /// stay small beside the work. <c>virtbench peers</c> boots the same images in QEMU by default.
    /// </summary>
    public static IReadOnlyList<int> Scales { get; } = [10, 20];

    /// <summary>The options of every run: the defaults of <c>virtbench run</c>.</summary>
    public static RunOptions Options { get; } = new();

    /// <summary>The iteration count of a workload at a scale.</summary>
    public static uint Iterations(string workload, int scale) => checked(WorkloadCatalog.Get(workload).DefaultIterations * (uint)scale);

    /// <summary>The image <paramref name="engine"/> boots for <paramref name="workload"/> at <paramref name="scale"/>.</summary>
    public static GuestImage Image(IEngine engine, string workload, int scale) =>
        ImageBuilder.Build(WorkloadCatalog.Get(workload), engine.Flavor, Iterations(workload, scale));

    /// <summary>Runs a case once; a run that does not end with the guest's successful exit is an error.</summary>
    public static EngineRun Run(IEngine engine, GuestImage image)
    {
        var run = engine.Run(image, Options);
        return run.Outcome.IsSuccess ? run : throw new InvalidOperationException($"{engine.Name} on {image.Name}: {run.Outcome}");
    }
}
