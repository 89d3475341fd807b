using System.CommandLine;
using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Reports;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Suite;

namespace VirtBench.Cli.Commands;

/// <summary><c>virtbench run</c>: every engine x every workload (or those named), priced, into a report folder.</summary>
internal static class RunCommand
{
    /// <summary>The report folder when --out is not given.</summary>
    public const string DefaultOut = "virtbench-report";

    public static Command Create(Toolbox toolbox, TextWriter output)
    {
        var machine = new MachineOptions();
        var engines = new Option<string?>("--engines", "-e") { Description = "Comma-separated engines to run (default: all; see virtbench list)" };
        var workloads = new Option<string?>("--workloads", "-w") { Description = "Comma-separated workloads to run (default: all)" };
        var profile = new Option<string>("--profile", "-p")
        {
            Description = $"Cost profile: a shipped name ({string.Join(", ", ProfileCatalog.Shipped.Select(p => p.Name))}) or a .json file",
            DefaultValueFactory = _ => ProfileCatalog.DefaultName,
        };
        var scale = Options.Positive("--scale", "Factor applied to every workload's default iteration count", 0, 1000, 1);
        var output_ = new Option<string>("--out", "-o") { Description = "Report folder to write", DefaultValueFactory = _ => DefaultOut };
        var jobs = Options.Whole("--jobs", "Engine-workload pairs run in parallel", 1, 1024, () => Environment.ProcessorCount);
        jobs.Aliases.Add("-j");
        var budget = Options.Whole("--budget", "Retired-instruction budget per run", 1UL, ulong.MaxValue, () => machine.InstructionBudget);
        var tlb = Options.Whole("--tlb", "TLB entries of the simulated machine (a power of two)", 1, 65536, () => machine.TlbEntries);
        var noAdaptation = new Option<bool>("--no-adaptive-translation") { Description = "Binary translation: keep page-table writers as tracing faults (measures what adaptive translation saves)" };

        var command = new Command("run", "Run engines x workloads, price the counts and write the report (index.html, charts, results.json, results.csv, summary.md)")
        {
            engines, workloads, profile, scale, output_, jobs, budget, tlb, noAdaptation,
        };
        command.SetAction(parse =>
        {
            var selectedEngines = toolbox.SelectEngines(parse.GetValue(engines));
            var selectedWorkloads = toolbox.SelectWorkloads(parse.GetValue(workloads));
            var costs = ProfileCatalog.Load(parse.GetValue(profile)!);
            var machineOptions = new MachineOptions { TlbEntries = parse.GetValue(tlb), InstructionBudget = parse.GetValue(budget) };
            try
            {
                machineOptions.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new UsageException(ex.Message);
            }
            var options = new SuiteOptions
            {
                Engines = selectedEngines,
                Workloads = selectedWorkloads,
                IterationScale = parse.GetValue(scale),
                Jobs = parse.GetValue(jobs),
                Run = new RunOptions { Machine = machineOptions, AdaptiveTranslation = !parse.GetValue(noAdaptation) },
            };
            output.WriteLine($"virtbench: {selectedEngines.Count} engines x {selectedWorkloads.Count} workloads, {options.Jobs} at a time, profile {costs.Name}");
            var results = ProgressDisplay.Run(output, options);
            var priced = SuitePricer.Apply(results, costs);
            string directory = parse.GetValue(output_)!;
            ReportOutput.Write(priced, directory, ReportOutput.Measurements(directory, output), output);
            return Program.Success;
        });
        return command;
    }
}
