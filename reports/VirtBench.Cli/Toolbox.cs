using VirtBench.Engines;
using VirtBench.Engines.Peers;
using VirtBench.Reports.Suite;

namespace VirtBench.Cli;

/// <summary>What the commands work with: the engines, the workloads and QEMU (tests pass fakes).</summary>
/// <param name="Engines">Engines, in report order.</param>
/// <param name="Workloads">Workloads, in report order.</param>
internal sealed record Toolbox(IReadOnlyList<IEngine> Engines, IReadOnlyList<WorkloadSpec> Workloads)
{
    /// <summary>Why QEMU cannot run here, or null when it can (<c>virtbench peers</c>).</summary>
    public Func<string?> QemuUnavailableReason { get; init; } = Qemu.UnavailableReason;

    /// <summary>The real engines and workloads.</summary>
    public static Toolbox Default => new(EngineCatalog.All, WorkloadSource.All);

    /// <summary>The engines named in a comma-separated list (all when null), in the order given.</summary>
    public IReadOnlyList<IEngine> SelectEngines(string? names) =>
        Select(names, Engines, e => e.Name, "engine");

    /// <summary>The workloads named in a comma-separated list (all when null), in the order given.</summary>
    public IReadOnlyList<WorkloadSpec> SelectWorkloads(string? names) =>
        Select(names, Workloads, w => w.Name, "workload");

    /// <summary>One workload by name.</summary>
    public WorkloadSpec Workload(string name) => SelectWorkloads(name)[0];

    /// <summary>The items named in a comma-separated list (all when null), in the order given; unknown names are a <see cref="UsageException"/>.</summary>
    public static IReadOnlyList<T> Select<T>(string? names, IReadOnlyList<T> all, Func<T, string> nameOf, string what)
    {
        if (all.Count == 0) throw new UsageException($"no {what}s are available in this build of virtbench");
        if (names is null) return all;
        var wanted = names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (wanted.Length == 0) throw new UsageException($"no {what} named: give a comma-separated list of {string.Join(", ", all.Select(nameOf))}");
        var selected = new List<T>();
        foreach (var name in wanted.Distinct())
            selected.Add(all.FirstOrDefault(x => nameOf(x) == name)
                         ?? throw new UsageException($"unknown {what} '{name}': expected one of {string.Join(", ", all.Select(nameOf))}"));
        return selected;
    }
}
