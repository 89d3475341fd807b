using System.Text;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Results;
using static VirtBench.Reports.HtmlReport;

namespace VirtBench.Reports;

/// <summary>
/// The report's "Host speed" section: BenchmarkDotNet's measurements of the engines (bench.json) and QEMU's on
/// the same images (peers.json), or how to get them when the folder has neither.
/// </summary>
internal static class HostSpeedHtml
{
    public static void Render(StringBuilder html, SuiteResults results, HostMeasurements measured)
    {
        html.AppendLine("<h2 id=\"host-speed\">Host speed <span class=\"label measured\">measured on this host</span></h2>");
        html.AppendLine("<p>How fast the simulator (and QEMU, on the same images) runs on this host. These figures describe the programs " +
                        "that simulate the techniques, not the techniques: a technique's cost is the modeled overhead above. Each time per " +
                        "operation is the difference between runs of N and 2N iterations, so boot and start-up cancel out.</p>");
        if (measured.Bench is null && measured.Peers is null)
            html.AppendLine("<p>This folder has no BenchmarkDotNet or QEMU measurements: run <code>virtbench bench</code> and " +
                            "<code>virtbench peers</code> with <code>--out</code> this folder, then <code>virtbench report</code>.</p>");
        if (measured.Bench is { } bench) Bench(html, results, bench, measured.Peers);
        if (measured.Peers is { } peers) Peers(html, results, peers, measured.Bench);
    }

    private static void Bench(StringBuilder html, SuiteResults results, BenchResults bench, PeerResults? peers)
    {
        html.AppendLine($"<h3>Engines (BenchmarkDotNet, {E(bench.Created.ToUniversalTime().ToString("yyyy-MM-dd HH:mm"))} UTC, {E(bench.Host.ProcessorName)})</h3>");
        html.AppendLine("<table><tr><th>engine</th><th>workload</th><th>iterations</th><th>mean host time of a run</th>" +
                        "<th>host time per operation</th><th>guest instructions per host second</th></tr>");
        foreach (var c in bench.Engines.OrderBy(c => EngineOrder(results, c.Engine)).ThenBy(c => c.Workload, StringComparer.Ordinal))
            html.AppendLine($"<tr><td>{E(c.Engine)}</td><td>{E(c.Workload)}</td><td class=\"num\">{c.Timing.Small.Iterations:N0} / {c.Timing.Large.Iterations:N0}</td>" +
                            $"<td class=\"num\">{Format.Seconds(c.Timing.Small.HostSeconds)} / {Format.Seconds(c.Timing.Large.HostSeconds)} s</td>" +
                            $"<td class=\"num\">{Format.Nanoseconds(c.Timing.HostNanosecondsPerOp)}</td><td class=\"num\">{Format.MillionsPerSecond(c.Timing.GuestInstructionsPerSecond)}</td></tr>");
        html.AppendLine("</table>");
        if (bench.Loops.Count == 0) return;
        html.AppendLine("<h3>The machine's speed loops</h3><table><tr><th>loop</th><th>guest instructions per host second (BenchmarkDotNet)</th>" +
                        "<th>QEMU TCG, same image</th><th>VirtBench / QEMU</th></tr>");
        foreach (var loop in bench.Loops)
        {
            double? qemu = peers?.Images.FirstOrDefault(p => p.Name == loop.Loop)?.Qemu.GuestInstructionsPerSecond;
            html.AppendLine($"<tr><td>{E(loop.Loop)}</td><td class=\"num\">{Format.MillionsPerSecond(loop.GuestInstructionsPerSecond)}</td>" +
                            $"<td class=\"num\">{Format.MillionsPerSecond(qemu)}</td><td class=\"num\">{Format.Overhead(loop.GuestInstructionsPerSecond / qemu)}</td></tr>");
        }
        html.AppendLine("</table>");
    }

    private static void Peers(StringBuilder html, SuiteResults results, PeerResults peers, BenchResults? bench)
    {
        var engines = results.Engines.Select(e => e.Name).Where(e => bench?.Engines.Any(c => c.Engine == e) == true).ToList();
        html.AppendLine($"<h3>QEMU on the same images ({E(peers.Qemu)}, TCG, fastest of {peers.Repeats} runs per size)</h3>");
        html.AppendLine("<p>QEMU boots each image unchanged; its serial output and exit status must equal the native engine's. " +
                        "QEMU's guest instructions per second use the native engine's instruction count for the same image. " +
                        "Engine columns: host time per operation from BenchmarkDotNet, and how many times QEMU's it is.</p>");
        html.AppendLine("<table><tr><th>image</th><th>output</th><th>QEMU host time per operation</th><th>QEMU guest instructions per second</th>");
        foreach (var e in engines) html.Append($"<th>{E(e)}</th>");
        html.AppendLine("</tr>");
        foreach (var p in peers.Images)
        {
            string output = p.OutputMatches ? "<span class=\"ok\">same as native</span>"
                : $"<span class=\"diverged\">differs</span><br><span class=\"small\">{E(p.Message)}</span>";
            html.Append($"<tr><td>{E(p.Name)}</td><td>{output}</td><td class=\"num\">{Format.Nanoseconds(p.Qemu.HostNanosecondsPerOp)}</td>" +
                        $"<td class=\"num\">{Format.MillionsPerSecond(p.Qemu.GuestInstructionsPerSecond)}</td>");
            foreach (var e in engines)
            {
                double? ours = bench!.Engines.FirstOrDefault(c => c.Engine == e && c.Workload == p.Name)?.Timing.HostNanosecondsPerOp;
                html.Append($"<td class=\"num\">{(ours is null ? "-" : $"{Format.Nanoseconds(ours)} ({Format.Overhead(ours / p.Qemu.HostNanosecondsPerOp)})")}</td>");
            }
            html.AppendLine("</tr>");
        }
        html.AppendLine("</table>");
    }

    private static int EngineOrder(SuiteResults results, string engine) =>
        results.Engines.Select(e => e.Name).ToList().IndexOf(engine) is var i and >= 0 ? i : int.MaxValue;
}
