using ScottPlot;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.Charts;

/// <summary>Host time per operation of QEMU (TCG) beside our engines' on the same workload images (measured).</summary>
internal static class PeersChart
{
    /// <summary>QEMU's bars are this gray, apart from every engine's color.</summary>
    private static readonly Color QemuColor = Colors.DimGray;

    public static ChartImage Render(SuiteResults results, PeerResults peers, BenchResults? bench)
    {
        var workloads = peers.Images.Where(p => p.Qemu.HostNanosecondsPerOp is not null && results.Workloads.Any(w => w.Name == p.Name)).ToList();
        var groups = workloads.Select(p => p.Name).ToList();
        var series = new List<GroupedBars.Series>
        {
            new("QEMU TCG", QemuColor, workloads.Select(p => p.Qemu.HostNanosecondsPerOp!.Value).ToList()),
        };
        var engines = results.Engines.Select((e, i) => (e.Name, Index: i))
            .Where(e => bench?.Engines.Any(c => c.Engine == e.Name && groups.Contains(c.Workload)) == true);
        foreach (var (name, index) in engines)
            series.Add(new GroupedBars.Series(name, ChartKit.EngineColor(index),
                groups.Select(w => bench!.Engines.FirstOrDefault(c => c.Engine == name && c.Workload == w)?.Timing.HostNanosecondsPerOp ?? double.NaN).ToList()));

        var plot = ChartKit.NewPlot("Host time per operation: QEMU TCG and VirtBench's engines (measured on this host)",
            "workload", "host nanoseconds per operation (log scale)");
        GroupedBars.Draw(plot, groups, series, log: true);
        var values = series.SelectMany(s => s.Values).Where(v => v > 0).DefaultIfEmpty(1).ToList();
        ChartKit.LogLeftAxis(plot, values.Min(), values.Max(), v => ChartKit.Number(v) + " ns");
        return ChartKit.Render(plot, "peers.png", "QEMU and our engines on the same images",
            $"Host time per guest operation of each workload's image, boot excluded (runs of N and 2N iterations): QEMU {peers.Qemu} in TCG mode " +
            $"(fastest of {peers.Repeats} runs per size, virtbench peers) beside VirtBench's engines (BenchmarkDotNet means, virtbench bench; " +
            "missing bars: workload not benchmarked). Both are simulators running on this host: lower is a faster simulator, not a cheaper technique.",
            GroupedBars.Width(groups.Count, series.Count));
    }
}
