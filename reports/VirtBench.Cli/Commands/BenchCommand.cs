using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using BenchmarkDotNet.ConsoleArguments;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using VirtBench.Benchmarks;
using VirtBench.Benchmarks.Engines;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Profiles;

namespace VirtBench.Cli.Commands;

/// <summary>
/// <c>virtbench bench [BenchmarkDotNet arguments]</c>: the BenchmarkDotNet suite (host speed of every engine on
/// a few workloads, and the machine's speed loops), exported into the report folder.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The benchmark project, relative to the repository root, that BenchmarkDotNet builds for every case.</summary>
    private static readonly string Project = Path.Combine("reports", "VirtBench.Benchmarks", "VirtBench.Benchmarks.csproj");

    public static Command Create(Toolbox toolbox, TextWriter output)
    {
        var engines = new Option<string?>("--engines") { Description = "Comma-separated engines to benchmark (default: all)" };
        var workloads = new Option<string?>("--workloads")
        {
            Description = $"Comma-separated workloads to benchmark (default: {string.Join(",", EngineCases.DefaultWorkloads)})",
        };
        var profile = new Option<string>("--profile")
        {
            Description = "Cost profile of the modeled columns (a shipped name or a .json file)",
            DefaultValueFactory = _ => ProfileCatalog.DefaultName,
        };
        var out_ = new Option<string>("--out", "-o") { Description = "Report folder: bench.json goes there, BenchmarkDotNet's files into its bench/ folder", DefaultValueFactory = _ => RunCommand.DefaultOut };
        var command = new Command("bench",
            "Run the BenchmarkDotNet suite: host time per operation and guest instructions per host second of every engine, with modeled columns. " +
            "Run it from the repository root. Other arguments go to BenchmarkDotNet (e.g. --filter *MachineSpeed*, --job short, --inProcess, --list flat).")
        {
            engines, workloads, profile, out_,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            var settings = new BenchSettings(
                parse.GetValue(out_)!,
                ProfileCatalog.Load(parse.GetValue(profile)!),
                toolbox.SelectEngines(parse.GetValue(engines)).Select(e => e.Name).ToList(),
                toolbox.SelectWorkloads(parse.GetValue(workloads) ?? string.Join(",", EngineCases.DefaultWorkloads)).Select(w => w.Name).ToList());
            string[] arguments = [.. parse.UnmatchedTokens];
            var options = ParseBenchmarkDotNetArguments(arguments);
            RequireOptimizedBuild();
            if (!options.RunInProcess) RequireSourceTree(Directory.GetCurrentDirectory());
            // Without a filter BenchmarkDotNet asks on the console which benchmarks to run.
            if (!options.Filters.Any()) arguments = [.. arguments, "--filter", "*"];

            var logger = ReferenceEquals(output, Console.Out) ? ConsoleLogger.Default : new TextWriterLogger(output);
            bool jobGiven = arguments.Any(a => a is "--job" or "-j" || a.StartsWith("--job=", StringComparison.Ordinal));
            var summaries = BenchmarkSwitcher.FromTypes(BenchSuite.Benchmarks).Run(arguments, BenchSuite.Config(settings, logger, jobGiven)).ToList();
            if (options.ListBenchmarkCaseMode != BenchmarkDotNet.ConsoleArguments.ListBenchmarks.ListBenchmarkCaseMode.Disabled || options.PrintInformation) return Program.Success;

            int cases = summaries.Sum(s => s.BenchmarksCases.Length);
            int failed = summaries.Sum(s => s.Reports.Count(r => !r.Success)) + summaries.Sum(s => s.BenchmarksCases.Length - s.Reports.Length);
            output.WriteLine();
            if (cases == 0) throw new UsageException("no benchmark case matches the filters given");
            output.WriteLine($"BenchmarkDotNet's tables and logs: {Path.Combine(settings.ReportDirectory, BenchSuite.ArtifactsFolder)}; " +
                             $"host speed for the report: {Path.Combine(settings.ReportDirectory, HostMeasurements.BenchFile)}");
            ReportOutput.Refresh(settings.ReportDirectory, output);
            if (failed == 0) return Program.Success;
            output.WriteLine($"virtbench: {failed} of {cases} benchmark cases failed: see the log in {Path.Combine(settings.ReportDirectory, BenchSuite.ArtifactsFolder)}");
            return Program.InternalError;
        });
        return command;
    }

    /// <summary>BenchmarkDotNet's reading of the arguments; anything it refuses is one line.</summary>
    private static CommandLineOptions ParseBenchmarkDotNetArguments(string[] arguments)
    {
        var log = new AccumulationLogger();
        var (ok, _, options) = ConfigParser.Parse(arguments, log);
        if (ok && options is not null) return options;
        // The parser prints a heading, "ERROR(S):", the problems and its whole help; other refusals are one line.
        var lines = log.GetLog().Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        int errors = Array.IndexOf(lines, "ERROR(S):");
        string problem = errors >= 0 && errors + 1 < lines.Length ? lines[errors + 1] : lines.FirstOrDefault() ?? "not accepted";
        throw new UsageException($"bad BenchmarkDotNet arguments '{string.Join(" ", arguments)}': {problem}");
    }

    /// <summary>BenchmarkDotNet refuses to time unoptimized code; say how to build it right instead.</summary>
    private static void RequireOptimizedBuild()
    {
        if (typeof(EngineSpeed).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true)
            throw new UsageException("virtbench bench needs a Release build: dotnet run -c Release --project reports/VirtBench.Cli -- bench");
    }

    /// <summary>
    /// BenchmarkDotNet builds <see cref="Project"/> for every case, finding it from the current folder up to the
    /// solution: outside the source tree it cannot, so say so in one line before it tries.
    /// </summary>
    internal static void RequireSourceTree(string directory)
    {
        for (var dir = new DirectoryInfo(directory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VirtBench.sln")) && File.Exists(Path.Combine(dir.FullName, Project)))
                return;
        throw new UsageException($"virtbench bench runs from the VirtBench source tree, since BenchmarkDotNet builds {Project} for each case " +
                                 $"({directory} is outside it): cd to the repository root, or add --inProcess to run the cases in this process");
    }
}
