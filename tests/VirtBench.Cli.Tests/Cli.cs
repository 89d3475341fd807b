using VirtBench.Engines;
using VirtBench.Testing;

namespace VirtBench.Cli.Tests;

/// <summary>Runs the command line in-process against the fake engines and workloads.</summary>
internal static class Cli
{
    public static Toolbox Fakes { get; } = new(
        [FakeEngine.Native(), FakeEngine.TrapAndEmulate(), FakeEngine.HardwareAssisted(), FakeEngine.Paravirtual()],
        FakeWorkloads.All);

    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static Result Run(params string[] args) => RunWith(Fakes, args);

    public static Result RunWith(Toolbox toolbox, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(args, output, error, toolbox);
        return new Result(code, output.ToString(), error.ToString());
    }
}
