using System.CommandLine;
using VirtBench.Cli.Commands;
using VirtBench.Reports.Profiles;
using VirtBench.Reports.Results;

namespace VirtBench.Cli;

/// <summary>The <c>virtbench</c> command: run, list, report, image, bench, peers, translate.</summary>
internal static class Program
{
    /// <summary>Exit status of a run that went as asked.</summary>
    public const int Success = 0;

    /// <summary>Exit status when something the user named cannot be used (a file, a profile, results).</summary>
    public const int InputError = 1;

    /// <summary>Exit status for a malformed command line (unknown names, bad numbers, missing arguments).</summary>
    public const int UsageError = 2;

    /// <summary>Exit status for a bug in virtbench itself (reported in one line, like everything else).</summary>
    public const int InternalError = 70;

    private static int Main(string[] args) => Run(args, Console.Out, Console.Error, Toolbox.Default);

    /// <summary>
    /// Runs the command line in-process: output to <paramref name="output"/>, problems as one line on
    /// <paramref name="error"/>; returns the exit status. Never throws for user errors.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, Toolbox toolbox)
    {
        var root = new RootCommand("VirtBench: the same guest software under every x86 virtualization technique, with modeled costs.");
        root.Subcommands.Add(RunCommand.Create(toolbox, output));
        root.Subcommands.Add(ListCommand.Create(toolbox, output));
        root.Subcommands.Add(ReportCommand.Create(output));
        root.Subcommands.Add(ImageCommand.Create(toolbox, output));
        root.Subcommands.Add(BenchCommand.Create(toolbox, output));
        root.Subcommands.Add(PeersCommand.Create(toolbox, output));
        root.Subcommands.Add(TranslateCommand.Create(toolbox, output));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            error.WriteLine($"virtbench: {OneLine(parse.Errors[0].Message)} (see virtbench --help)");
            return UsageError;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException ex)
        {
            error.WriteLine($"virtbench: {OneLine(ex.Message)}");
            return UsageError;
        }
        catch (Exception ex) when (ex is ProfileException or ResultsException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"virtbench: {OneLine(ex.Message)}");
            return InputError;
        }
        catch (Exception ex)
        {
            error.WriteLine($"virtbench: internal error: {ex.GetType().Name}: {OneLine(ex.Message)} (please report it)");
            return InternalError;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
