using System.Security.Cryptography;
using System.Text;
using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.Suite;

/// <summary>Turns an <see cref="EngineRun"/> into a <see cref="PairResult"/>: its status against native's output, checksum and counts.</summary>
internal static class RunClassifier
{
    /// <summary>"sha256:HEX" of the guest output's Latin-1 bytes.</summary>
    public static string Checksum(string output) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.Latin1.GetBytes(output)));

    /// <summary>
    /// Classifies a run: budget, fault (failing exit, halt, triple fault, engine stop, no measured region),
    /// diverged (output differs from <paramref name="nativeOutput"/>), or ok.
    /// </summary>
    public static PairResult Classify(EngineRun run, string workload, uint iterations, string? nativeOutput)
    {
        var (status, message) = run.Outcome switch
        {
            { Kind: OutcomeKind.BudgetExhausted } => (RunStatus.Budget, $"instruction budget exhausted: {run.Outcome.Message}"),
            { IsSuccess: false } => (RunStatus.Fault, run.Outcome.ToString()),
            _ when run.Measured is null => (RunStatus.Fault, "the guest closed no measured region on the bench port"),
            _ when nativeOutput is not null && nativeOutput != run.UartOutput =>
                (RunStatus.Diverged, $"UART output differs from native's: {FirstDifference(nativeOutput, run.UartOutput)}"),
            _ => (RunStatus.Ok, nativeOutput is null ? "not compared: no native result for this workload" : ""),
        };
        return new PairResult
        {
            Engine = run.Engine,
            Workload = workload,
            Iterations = iterations,
            Status = status,
            Message = OneLine(message),
            Outcome = run.Outcome.Kind.ToString(),
            ExitStatus = run.Outcome.Kind == OutcomeKind.DebugExit ? run.Outcome.ExitStatus : null,
            Ops = run.Operations,
            OutputChecksum = Checksum(run.UartOutput),
            OutputLength = run.UartOutput.Length,
            TotalGuestInstructions = run.Total.TotalInstructions,
            HostSeconds = run.HostTime.TotalSeconds,
            Measured = run.Measured,
            Holes = run.Holes,
        };
    }

    /// <summary>A pair that produced no run (the image could not be built or the engine threw).</summary>
    public static PairResult Failed(string engine, string workload, uint iterations, Exception error) => new()
    {
        Engine = engine,
        Workload = workload,
        Iterations = iterations,
        Status = RunStatus.Fault,
        Message = OneLine($"{error.GetType().Name}: {error.Message}"),
        Outcome = "error",
    };

    /// <summary>"line N: expected "..." got "..."" for the first differing line.</summary>
    internal static string FirstDifference(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            string x = i < a.Length ? a[i] : "(end of output)";
            string y = i < b.Length ? b[i] : "(end of output)";
            if (x != y) return $"line {i + 1}: expected \"{Clip(x)}\", got \"{Clip(y)}\"";
        }
        return "outputs differ";
    }

    private static string Clip(string s) => s.Length <= 60 ? s : s[..57] + "...";

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
