using VirtBench.Machine;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.Charts;

/// <summary>How often each technique enters its VMM or hypervisor per operation: traps, VM exits, hypercalls, callouts.</summary>
internal static class VmmEntriesChart
{
    /// <summary>
    /// The events that are an entry into the VMM or hypervisor: traps, VM exits, hypercalls (not the entries of a
    /// batch), exceptions and system calls bounced through the hypervisor, and callouts from translated code.
    /// </summary>
    public static bool IsVmmEntry(Event e) => EventInfo.CategoryOf(e) switch
    {
        EventCategory.VmExits => true,
        EventCategory.TrapsAndEmulation => e.ToString().StartsWith("Trap", StringComparison.Ordinal),
        EventCategory.Hypercalls => e.ToString().StartsWith("Bounced", StringComparison.Ordinal)
                                    || (e.ToString().StartsWith("Hypercall", StringComparison.Ordinal) && e != Event.HypercallMmuUpdateEntry),
        EventCategory.BinaryTranslation => e.ToString().StartsWith("BtCallout", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>VMM entries per operation of a pair, or NaN when it has no measured region.</summary>
    public static double PerOperation(PairResult r) =>
        r.Measured is { } counts && r.Ops > 0
            ? counts.EventCounts().Where(c => IsVmmEntry(c.Event)).Sum(c => (double)c.Count) / r.Ops
            : double.NaN;

    public static ChartImage Render(SuiteResults results)
    {
        var engines = results.Engines.Select((e, i) => (e.Name, Index: i)).ToList();
        var workloads = results.Workloads.Select(w => w.Name).ToList();
        var series = engines.Select(e => new GroupedBars.Series(e.Name, ChartKit.EngineColor(e.Index),
            workloads.Select(w => results.Find(e.Name, w) is { } r ? PerOperation(r) : double.NaN).ToList())).ToList();
        var plot = ChartKit.NewPlot("Entries into the VMM or hypervisor per operation (counted)",
            "workload", "traps + VM exits + hypercalls + BT callouts per op");
        GroupedBars.Draw(plot, workloads, series, log: false);
        plot.Axes.Margins(bottom: 0);
        return ChartKit.Render(plot, "vmm-entries.png", "Traps, exits and hypercalls per operation",
            "Exact counts from the measured region, divided by its operations: each time the guest leaves for the VMM or hypervisor " +
            "(trap-and-emulate traps, VT-x exits, paravirtual hypercalls, binary-translation callouts). Native and emulation make none.",
            GroupedBars.Width(workloads.Count, series.Count));
    }
}
