using Spectre.Console;
using VirtBench.Reports.Results;
using VirtBench.Reports.Suite;

namespace VirtBench.Cli;

/// <summary>
/// Runs the suite while showing progress: a live Spectre.Console bar with the pairs running now when the
/// output is a terminal, otherwise one plain line per finished pair (logs, CI, tests).
/// </summary>
internal static class ProgressDisplay
{
    public static SuiteResults Run(TextWriter output, SuiteOptions options)
    {
        bool terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        return terminal ? RunLive(options) : RunPlain(output, options);
    }

    private static SuiteResults RunPlain(TextWriter output, SuiteOptions options)
    {
        var gate = new object();
        return SuiteRunner.Run(options, p =>
        {
            if (p.Finished is not { } r) return;
            string figure = r.Status == RunStatus.Ok ? $"{r.HostSeconds:0.00} s" : $"{r.Message}";
            lock (gate) output.WriteLine($"[{p.Done.ToString().PadLeft(p.Total.ToString().Length)}/{p.Total}] {p.Engine} x {p.Workload}: {r.Status.ToString().ToLowerInvariant()} ({figure})");
        });
    }

    private static SuiteResults RunLive(SuiteOptions options)
    {
        SuiteResults? results = null;
        var running = new SortedSet<string>(StringComparer.Ordinal);
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                int total = options.Engines.Count * options.Workloads.Count;
                var task = context.AddTask("starting", maxValue: total);
                results = SuiteRunner.Run(options, p =>
                {
                    lock (running)
                    {
                        string pair = $"{p.Engine} x {p.Workload}";
                        if (p.Finished is null) running.Add(pair);
                        else running.Remove(pair);
                        task.Description = Markup.Escape($"{p.Done}/{p.Total} done; running {string.Join(", ", running)}");
                        if (p.Finished is not null) task.Increment(1);
                    }
                });
                task.Description = $"{total}/{total} done";
            });
        return results!;
    }
}
