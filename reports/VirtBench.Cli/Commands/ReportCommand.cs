using System.CommandLine;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;

namespace VirtBench.Cli.Commands;

/// <summary><c>virtbench report RESULTS.json</c>: re-price saved counts with a profile and redraw the report, without re-running.</summary>
internal static class ReportCommand
{
    public static Command Create(TextWriter output)
    {
        var results = new Argument<string>("results") { Description = "A results.json written by virtbench run" };
        var profile = new Option<string?>("--profile", "-p") { Description = "Cost profile to price with (default: the one stored in the results)" };
        var out_ = new Option<string?>("--out", "-o") { Description = "Report folder to write (default: virtbench-report-PROFILE)" };
        var command = new Command("report", "Re-price saved results with a cost profile and write a new report folder") { results, profile, out_ };
        command.SetAction(parse =>
        {
            string file = parse.GetValue(results)!;
            var saved = ResultsReader.Load(file);
            var costs = parse.GetValue(profile) is { } name ? ProfileCatalog.Load(name)
                : saved.Profile ?? throw new UsageException("the results hold no profile: pass --profile NAME");
            var priced = SuitePricer.Apply(saved, costs);
            // bench.json and peers.json beside the results go into the new report (and its folder) too.
            var measured = ReportOutput.Measurements(Path.GetDirectoryName(Path.GetFullPath(file))!, output);
            ReportOutput.Write(priced, parse.GetValue(out_) ?? $"virtbench-report-{costs.Name}", measured, output);
            return Program.Success;
        });
        return command;
    }
}
