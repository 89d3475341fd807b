using System.Net;
using System.Text;
using VirtBench.Machine;
using VirtBench.Reports.Charts;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;

namespace VirtBench.Reports;

/// <summary>
/// index.html: one self-contained page (charts as data: URIs, inline CSS, no scripts, no external references)
/// with the overhead table, charts, virtualization holes, detailed results, engines, workloads, parameters and
/// every profile figure with its source.
/// </summary>
internal static class HtmlReport
{
    private const string Style = """
        body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 0 auto; max-width: 1400px; padding: 1em 2em; color: #222; }
        h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
        nav a { margin-right: 1em; } .lead { font-size: 1.05em; }
        .label { display: inline-block; padding: 0.1em 0.5em; border-radius: 0.3em; font-size: 0.85em; font-weight: bold; }
        .modeled { background: #e3effa; color: #134; } .measured { background: #fcefd9; color: #532; }
        table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
        th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
        th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        .ok { color: #176217; } .diverged, .budget, .fault { color: #a01010; font-weight: bold; }
        figure { margin: 1.2em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; } figcaption { color: #444; max-width: 70em; }
        .holes { border: 3px solid #a01010; padding: 0.4em 1em 1em; background: #fff6f6; }
        .cited { color: #176217; } .derived { color: #134; } .assumed { color: #8a4b00; }
        code { background: #f4f4f4; padding: 0 0.2em; } .small { font-size: 0.85em; color: #555; }
        """;

    public static string Render(SuiteResults results, IReadOnlyList<ChartImage> charts, HostMeasurements measured)
    {
        var profile = results.Profile ?? throw new ArgumentException("results must be priced before reporting", nameof(results));
        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html>");
        html.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.AppendLine($"<title>VirtBench report: profile {E(profile.Name)}</title>");
        html.AppendLine($"<style>{Style}</style></head><body>");
        html.AppendLine("<h1>VirtBench report</h1>");
        html.AppendLine($"<p class=\"lead\">The same guest software under {results.Engines.Count} virtualization techniques and {results.Workloads.Count} workloads. " +
                        $"<span class=\"label modeled\">modeled</span> figures are exact event counts priced with the cost profile <b>{E(profile.Name)}</b> " +
                        "(cycles per event, each with its source below): they predict the technique's cost on that machine, they are not measurements. " +
                        "<span class=\"label measured\">measured on this host</span> figures are the simulator's own wall-clock time.</p>");
        html.AppendLine("<nav><a href=\"#overhead\">Overhead</a><a href=\"#charts\">Charts</a><a href=\"#holes\">Virtualization holes</a>" +
                        "<a href=\"#host-speed\">Host speed</a><a href=\"#results\">All results</a><a href=\"#breakdown\">Breakdown</a><a href=\"#engines\">Engines</a>" +
                        "<a href=\"#workloads\">Workloads</a><a href=\"#parameters\">Parameters</a><a href=\"#profile\">Cost profile</a></nav>");
        Overhead(html, results);
        Charts(html, charts);
        Holes(html, results);
        HostSpeedHtml.Render(html, results, measured);
        AllResults(html, results);
        Breakdown(html, results);
        Engines(html, results);
        Workloads(html, results);
        Parameters(html, results);
        Profile(html, profile);
        html.AppendLine($"<p class=\"small\">Written by virtbench {E(results.ToolVersion)}. The raw counts are in results.json (schema version " +
                        $"{SuiteResults.CurrentSchemaVersion}); <code>virtbench report results.json --profile NAME</code> re-prices them for another machine.</p>");
        html.AppendLine("</body></html>");
        return html.ToString();
    }

    private static void Overhead(StringBuilder html, SuiteResults results)
    {
        var others = results.Engines.Where(e => e.Name != SuiteResults.BaselineEngine).ToList();
        html.AppendLine("<h2 id=\"overhead\">Overhead versus native <span class=\"label modeled\">modeled</span></h2>");
        html.AppendLine("<p>Each cell is the engine's modeled cycles per operation divided by native's on the same workload. " +
                        "A status other than ok is shown instead of, or beside, the figure.</p>");
        html.AppendLine("<table><tr><th>workload</th><th>native cycles/op</th>");
        foreach (var e in others) html.Append($"<th>{E(e.Name)}</th>");
        html.AppendLine("</tr>");
        foreach (var w in results.Workloads)
        {
            var native = results.Find(SuiteResults.BaselineEngine, w.Name);
            html.Append($"<tr><td>{E(w.Name)}</td><td class=\"num\">{(native?.Priced is { } p ? Format.Cycles(p.CyclesPerOp) : StatusText(native))}</td>");
            foreach (var e in others)
            {
                var r = results.Find(e.Name, w.Name);
                string text = r switch
                {
                    null => "-",
                    { Status: RunStatus.Ok } => Format.Overhead(r.Priced?.OverheadVsNative),
                    { Status: RunStatus.Diverged } => $"{Format.Overhead(r.Priced?.OverheadVsNative)} <span class=\"diverged\">diverged</span>",
                    _ => StatusText(r),
                };
                html.Append($"<td class=\"num\">{text}</td>");
            }
            html.AppendLine("</tr>");
        }
        html.AppendLine("</table>");
    }

    private static void Charts(StringBuilder html, IReadOnlyList<ChartImage> charts)
    {
        html.AppendLine("<h2 id=\"charts\">Charts</h2>");
        foreach (var chart in charts)
        {
            html.AppendLine($"<figure><img alt=\"{E(chart.Title)}\" width=\"{chart.Width}\" height=\"{chart.Height}\" " +
                            $"src=\"data:image/png;base64,{Convert.ToBase64String(chart.Png)}\">");
            html.AppendLine($"<figcaption><b>{E(chart.Title)}</b> ({E("charts/" + chart.FileName)}). {E(chart.Caption)}</figcaption></figure>");
        }
    }

    private static void Holes(StringBuilder html, SuiteResults results)
    {
        html.AppendLine("<div class=\"holes\"><h2 id=\"holes\">Virtualization holes</h2>");
        html.AppendLine("<p>On real x86, some instructions are <i>sensitive</i> (their result depends on or changes privileged state) but " +
                        "<i>unprivileged</i>: run by a deprivileged guest kernel, they do not trap, so a trap-and-emulate VMM never sees them and " +
                        "the guest observes the real machine instead of its virtual one (Popek and Goldberg's condition fails). Below, each such " +
                        "instruction an engine passed over, and for each workload whether the guest's output then diverged from native's.</p>");
        var engines = results.Engines.Select(e => e.Name)
            .Where(e => results.Results.Any(r => r.Engine == e && (r.Holes.Count > 0 || r.Status == RunStatus.Diverged))).ToList();
        if (engines.Count == 0)
            html.AppendLine("<p><b>No engine in this run passed over a virtualization hole or diverged from native.</b> " +
                            "(The trap-emulate engine records holes; trap-emulate-pg, on a CPU where every sensitive instruction traps, has none.)</p>");
        foreach (string engine in engines)
        {
            var pairs = results.Results.Where(r => r.Engine == engine).ToList();
            HoleVerdict(html, engine, pairs);
            HolesByWorkload(html, pairs);
            HolesBySite(html, pairs);
        }
        html.AppendLine("</div>");
    }

    /// <summary>One sentence per engine: how many sensitive instructions it passed over, and what that did to the output.</summary>
    private static void HoleVerdict(StringBuilder html, string engine, IReadOnlyList<PairResult> pairs)
    {
        int sites = pairs.SelectMany(r => r.Holes).Select(h => (h.Location, h.Instruction)).Distinct().Count();
        ulong executions = pairs.SelectMany(r => r.Holes).Aggregate(0ul, (sum, h) => sum + h.Count);
        int withHoles = pairs.Count(r => r.Holes.Count > 0);
        string outcomes = string.Join(", ", pairs.GroupBy(r => r.Status).OrderBy(g => g.Key)
            .Select(g => $"<span class=\"{g.Key.ToString().ToLowerInvariant()}\">{g.Key.ToString().ToLowerInvariant()}</span> on {g.Count()}"));
        html.AppendLine($"<h3>{E(engine)}</h3><p><b>{sites} sensitive instruction{(sites == 1 ? "" : "s")} passed over, {executions:N0} time{(executions == 1 ? "" : "s")}, " +
                        $"in {withHoles} of {pairs.Count} workloads.</b> Compared with native's output: {outcomes}. An ok status beside holes means the " +
                        "guest's output survived what it saw wrongly; its counts, and so its cost, are still those of an incorrect VMM.</p>");
    }

    private static void HolesByWorkload(StringBuilder html, IReadOnlyList<PairResult> pairs)
    {
        html.AppendLine("<table><tr><th>workload</th><th>status</th><th>hole sites</th><th>hole executions</th>" +
                        "<th>per operation (measured region)</th></tr>");
        foreach (var r in pairs)
        {
            ulong executions = r.Holes.Aggregate(0ul, (sum, h) => sum + h.Count);
            double rate = r.Measured is { } m && r.Ops > 0 ? (double)m[Event.VirtualizationHole] / r.Ops : double.NaN;
            string perOp = double.IsNaN(rate) ? "-" : rate < 10 ? rate.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) : Format.Cycles(rate);
            html.AppendLine($"<tr><td>{E(r.Workload)}</td><td>{StatusCell(r)}</td><td class=\"num\">{r.Holes.Count}</td>" +
                            $"<td class=\"num\">{executions:N0}</td><td class=\"num\">{perOp}</td></tr>");
        }
        html.AppendLine("</table>");
    }

    /// <summary>Each hole once (a guest address and instruction), with what the guest saw and the workloads it happened in.</summary>
    private static void HolesBySite(StringBuilder html, IReadOnlyList<PairResult> pairs)
    {
        var sites = pairs.SelectMany(r => r.Holes.Select(h => (Pair: r, Hole: h)))
            .GroupBy(x => (x.Hole.Location, x.Hole.Instruction, x.Hole.GuestAddress))
            .OrderBy(g => g.Key.GuestAddress).ToList();
        if (sites.Count == 0) return;
        html.AppendLine("<table><tr><th>location</th><th>instruction</th><th>guest saw</th><th>should have seen</th><th>workloads (times)</th></tr>");
        foreach (var site in sites)
        {
            var first = site.First().Hole;
            string where = string.Join(", ", site.Select(x => $"{E(x.Pair.Workload)} ({x.Hole.Count:N0})"));
            html.AppendLine($"<tr><td><code>{E(first.Location)}</code> (0x{first.GuestAddress:x8})</td><td><code>{E(first.Instruction)}</code></td>" +
                            $"<td>{E(first.GuestSaw)}</td><td>{E(first.ShouldHaveSeen)}</td><td>{where}</td></tr>");
        }
        html.AppendLine("</table>");
    }

    private static string StatusCell(PairResult r) =>
        $"<span class=\"{StatusClass(r)}\">{StatusName(r)}</span>{(r.Message.Length > 0 ? "<br><span class=\"small\">" + E(r.Message) + "</span>" : "")}";

    private static void AllResults(StringBuilder html, SuiteResults results)
    {
        html.AppendLine("<h2 id=\"results\">All results</h2>");
        html.AppendLine("<table><tr><th>engine</th><th>workload</th><th>status</th><th>ops</th>" +
                        "<th>cycles/op <span class=\"label modeled\">modeled</span></th><th>overhead <span class=\"label modeled\">modeled</span></th>" +
                        "<th>guest instructions/op</th><th>VMM entries/op</th><th>host seconds <span class=\"label measured\">measured</span></th>" +
                        "<th>output checksum</th></tr>");
        foreach (var r in results.Results)
        {
            double entries = VmmEntriesChart.PerOperation(r);
            html.AppendLine($"<tr><td>{E(r.Engine)}</td><td>{E(r.Workload)}</td>" +
                            $"<td>{StatusCell(r)}</td>" +
                            $"<td class=\"num\">{r.Ops:N0}</td><td class=\"num\">{(r.Priced is { } p ? Format.Cycles(p.CyclesPerOp) : "-")}</td>" +
                            $"<td class=\"num\">{Format.Overhead(r.Priced?.OverheadVsNative)}</td>" +
                            $"<td class=\"num\">{(r.Ops > 0 ? Format.Cycles((double)r.GuestInstructions / r.Ops) : "-")}</td>" +
                            $"<td class=\"num\">{(double.IsNaN(entries) ? "-" : Format.Cycles(entries))}</td>" +
                            $"<td class=\"num\">{Format.Seconds(r.HostSeconds)}</td><td><code>{E(Format.ShortChecksum(r.OutputChecksum))}</code></td></tr>");
        }
        html.AppendLine("</table>");
    }

    private static void Breakdown(StringBuilder html, SuiteResults results)
    {
        html.AppendLine("<h2 id=\"breakdown\">Cycles per operation by cause <span class=\"label modeled\">modeled</span></h2>");
        var used = CycleBreakdown.Categories.Where(c => results.Results.Any(r => r.Priced is { } p && p.ByCategoryPerOp[c] > 0)).ToList();
        foreach (var w in results.Workloads)
        {
            var rows = results.Results.Where(r => r.Workload == w.Name && r.Priced is not null).ToList();
            if (rows.Count == 0) continue;
            html.AppendLine($"<h3>{E(w.Name)}</h3><table><tr><th>engine</th>");
            foreach (var c in used) html.Append($"<th>{E(CategoryNames.Of(c))}</th>");
            html.AppendLine("<th>total</th></tr>");
            foreach (var r in rows)
            {
                html.Append($"<tr><td>{E(r.Engine)}</td>");
                foreach (var c in used) html.Append($"<td class=\"num\">{Format.Cycles(r.Priced!.ByCategoryPerOp[c])}</td>");
                html.AppendLine($"<td class=\"num\"><b>{Format.Cycles(r.Priced!.CyclesPerOp)}</b></td></tr>");
            }
            html.AppendLine("</table>");
        }
    }

    private static void Engines(StringBuilder html, SuiteResults results)
    {
        html.AppendLine("<h2 id=\"engines\">Engines</h2><table><tr><th>engine</th><th>kernel</th><th>technique</th></tr>");
        foreach (var e in results.Engines)
            html.AppendLine($"<tr><td>{E(e.Name)}</td><td>{E(e.Flavor.ToString().ToLowerInvariant())}</td><td>{E(e.Description)}</td></tr>");
        html.AppendLine("</table>");
    }

    private static void Workloads(StringBuilder html, SuiteResults results)
    {
        html.AppendLine("<h2 id=\"workloads\">Workloads</h2><table><tr><th>workload</th><th>iterations</th><th>what it stresses</th></tr>");
        foreach (var w in results.Workloads)
            html.AppendLine($"<tr><td>{E(w.Name)}</td><td class=\"num\">{w.Iterations:N0}</td><td>{E(w.Description)}</td></tr>");
        html.AppendLine("</table>");
    }

    private static void Parameters(StringBuilder html, SuiteResults results)
    {
        var p = results.Parameters;
        var h = results.Host;
        html.AppendLine("<h2 id=\"parameters\">Parameters</h2><table>");
        foreach (var (name, value) in new (string, string)[]
                 {
                     ("tool", $"virtbench {results.ToolVersion}"),
                     ("finished", results.Created.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss") + " UTC"),
                     ("engines", string.Join(", ", p.Engines)),
                     ("workloads", string.Join(", ", p.Workloads)),
                     ("iteration scale", p.IterationScale.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                     ("TLB entries", p.TlbEntries.ToString()),
                     ("guest RAM", $"{p.RamBytes / (1 << 20)} MiB"),
                     ("instruction budget", p.InstructionBudget.ToString("N0")),
                     ("adaptive translation", p.AdaptiveTranslation ? "on" : "off"),
                     ("parallel jobs", p.Jobs.ToString()),
                     ("cost profile", $"{results.Profile?.Name} ({results.Profile?.Origin})"),
                     ("host", $"{h.ProcessorName}, {h.ProcessorCount} logical processors, {h.Os} ({h.Architecture})"),
                     (".NET", h.DotNet),
                 })
            html.AppendLine($"<tr><th>{E(name)}</th><td>{E(value)}</td></tr>");
        html.AppendLine("</table>");
    }

    private static void Profile(StringBuilder html, CostProfile profile)
    {
        html.AppendLine($"<h2 id=\"profile\">Cost profile: {E(profile.Name)}</h2>");
        html.AppendLine($"<p>{E(profile.Description)}</p>");
        html.AppendLine("<p>Every figure below is the modeled cost of one occurrence, in cycles of the profiled machine. Its source is " +
                        "<span class=\"cited\">cited</span> (a published measurement), <span class=\"derived\">derived</span> (computed from " +
                        "cited figures, arithmetic shown) or <span class=\"assumed\">assumed</span> (no published figure; the assumption is stated). " +
                        "Each event prices only its own increment, so a path that counts several events is not charged twice.</p>");
        html.AppendLine("<table><tr><th>event</th><th>category</th><th>cycles</th><th>source</th></tr>");
        foreach (var (e, cost) in profile.Events)
            html.AppendLine($"<tr><td>{E(e.ToString())}</td><td>{E(CategoryNames.Of(EventInfo.CategoryOf(e)))}</td><td class=\"num\">{Format.Cycles(cost.Cycles)}</td>{SourceCell(cost)}</tr>");
        html.AppendLine("</table><h3>Guest instructions (per retired instruction, by mnemonic)</h3>");
        html.AppendLine("<table><tr><th>mnemonic</th><th>cycles</th><th>source</th></tr>");
        html.AppendLine($"<tr><td><i>any other</i></td><td class=\"num\">{Format.Cycles(profile.DefaultInstruction.Cycles)}</td>{SourceCell(profile.DefaultInstruction)}</tr>");
        foreach (var (m, cost) in profile.Instructions)
            html.AppendLine($"<tr><td>{E(m.ToString().ToLowerInvariant())}</td><td class=\"num\">{Format.Cycles(cost.Cycles)}</td>{SourceCell(cost)}</tr>");
        html.AppendLine("</table>");
    }

    private static string SourceCell(CostEntry cost)
    {
        string kind = cost.Kind.ToString().ToLowerInvariant();
        return $"<td><span class=\"{kind}\">{kind}</span>: {E(cost.Source)}</td>";
    }

    private static string StatusName(PairResult r) => r.Status.ToString().ToLowerInvariant();

    private static string StatusClass(PairResult r) => StatusName(r);

    private static string StatusText(PairResult? r) => r is null ? "-" : $"<span class=\"{StatusClass(r)}\">{StatusName(r)}</span>";

    /// <summary>HTML-encodes text (shared by the report's sections).</summary>
    internal static string E(string text) => WebUtility.HtmlEncode(text);
}
