using VirtBench.Cli.Commands;

namespace VirtBench.Cli.Tests;

/// <summary>Every bad input gets one clear line on stderr and a non-zero exit, never a stack trace.</summary>
public sealed class ErrorTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("virtbench: unknown engine 'nope': expected one of native, trap-emulate-pg, hw-shadow, paravirt", "run", "--engines", "native,nope")]
    [InlineData("virtbench: unknown workload 'sycsall': expected one of syscall, forkwait", "run", "--workloads", "sycsall")]
    [InlineData("virtbench: --jobs '0' is invalid: expected a whole number from 1 to 1024 (see virtbench --help)", "run", "--jobs", "0")]
    [InlineData("virtbench: --jobs 'many' is invalid: expected a whole number from 1 to 1024 (see virtbench --help)", "run", "--jobs", "many")]
    [InlineData("virtbench: --scale '-1' is invalid: expected a number above 0 and at most 1000 (see virtbench --help)", "run", "--scale", "-1")]
    [InlineData("virtbench: --scale 'big' is invalid: expected a number above 0 and at most 1000 (see virtbench --help)", "run", "--scale", "big")]
    [InlineData("virtbench: TLB size 3 is invalid: use a power of two from 1 to 65536.", "run", "--tlb", "3")]
    [InlineData("virtbench: --budget '0' is invalid: expected a whole number from 1 to 18446744073709551615 (see virtbench --help)", "run", "--budget", "0")]
    [InlineData("virtbench: unknown workload 'nope': expected one of syscall, forkwait", "image", "nope", "-o", "x.bin")]
    [InlineData("virtbench: --iterations '0' is invalid: expected a whole number from 1 to 4294967295 (see virtbench --help)", "image", "syscall", "-n", "0", "-o", "x.bin")]
    [InlineData("virtbench: unknown engine 'nope': expected one of native, trap-emulate-pg, hw-shadow, paravirt", "bench", "--engines", "nope")]
    [InlineData("virtbench: unknown workload 'nope': expected one of syscall, forkwait", "bench", "--workloads", "syscall,nope")]
    [InlineData("virtbench: bad BenchmarkDotNet arguments '--frobnicate': Option 'frobnicate' is unknown.", "bench", "--workloads", "syscall", "--frobnicate")]
    [InlineData("virtbench: bad BenchmarkDotNet arguments '--job nope': The provided base job \"nope\" is invalid. Available options are: default, dry, short, medium, long, verylong.",
        "bench", "--workloads", "syscall", "--job", "nope")]
    [InlineData("virtbench: bad BenchmarkDotNet arguments '--iterationCount many': Option 'iterationCount' is defined with a bad format.",
        "bench", "--workloads", "syscall", "--iterationCount", "many")]
    [InlineData("virtbench: unknown workload or speed loop 'nope': expected one of syscall, forkwait, loop-decjnz, loop-mixed", "peers", "--workloads", "nope")]
    [InlineData("virtbench: --scale '0' is invalid: expected a number above 0 and at most 1000 (see virtbench --help)", "peers", "--scale", "0")]
    [InlineData("virtbench: --repeat '0' is invalid: expected a whole number from 1 to 100 (see virtbench --help)", "peers", "--repeat", "0")]
    [InlineData("virtbench: --timeout 'soon' is invalid: expected a whole number from 1 to 86400 (see virtbench --help)", "peers", "--timeout", "soon")]
    public void BadArgumentsAreUsageErrors(string expected, params string[] args)
    {
        string[] full = args[0] is "run" or "bench" or "peers" ? [.. args, "-o", _temp.File("never")] : args;
        var r = Cli.Run(full);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal([expected], r.ErrorLines);
        Assert.False(Directory.Exists(_temp.File("never")));
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("run", "--colour", "red")]
    [InlineData("image", "syscall")]
    [InlineData("image", "syscall", "--flavor", "weird", "-o", "x.bin")]
    [InlineData("report")]
    public void MalformedCommandLinesAreUsageErrors(params string[] args)
    {
        var r = Cli.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.ErrorLines);
        Assert.StartsWith("virtbench: ", r.Error);
        Assert.EndsWith("(see virtbench --help)", r.ErrorLines[0]);
    }

    [Fact]
    public void BenchOutsideTheSourceTreeIsOneLineSayingWhereToRunIt()
    {
        var error = Assert.Throws<UsageException>(() => BenchCommand.RequireSourceTree(_temp.Path));
        Assert.Equal($"virtbench bench runs from the VirtBench source tree, since BenchmarkDotNet builds reports/VirtBench.Benchmarks/VirtBench.Benchmarks.csproj " +
                     $"for each case ({_temp.Path} is outside it): cd to the repository root, or add --inProcess to run the cases in this process", error.Message);
        BenchCommand.RequireSourceTree(Path.Combine(RepositoryRoot(), "reports", "VirtBench.Cli")); // inside: no error
    }

    [Fact]
    public void BenchWithAnUnknownProfileIsAnInputError()
    {
        var r = Cli.Run("bench", "--profile", "pentium5", "-o", _temp.File("never"));
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.ErrorLines);
        Assert.StartsWith("virtbench: unknown profile 'pentium5'", r.Error);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir.FullName, "VirtBench.sln"))) dir = dir.Parent!;
        return dir.FullName;
    }

    [Fact]
    public void AnUnknownProfileIsAnInputError()
    {
        var r = Cli.Run("run", "--profile", "pentium5", "-o", _temp.File("x"));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(["virtbench: unknown profile 'pentium5': expected one of pentium4-2006, core2-2008, westmere-2010, modern, or the path of a profile .json file"], r.ErrorLines);
    }

    [Theory]
    [InlineData("{ \"name\": \"bad\", \"basedOn\": \"modern\", \"events\": { \"ExitIo\": { \"cycles\": -1, \"source\": \"x\" } } }", "events.ExitIo.cycles: must be a number of cycles >= 0, got -1")]
    [InlineData("{ \"name\": \"bad\", \"basedOn\": \"modern\", \"events\": { \"ExitIo\": { \"cycles\": \"1k\", \"source\": \"x\" } } }", "events.ExitIo.cycles: must be a number of cycles >= 0, got the string \"1k\"")]
    [InlineData("{ \"name\": \"bad\", \"basedOn\": \"modern\", \"events\": { \"ExitIO\": { \"cycles\": 1, \"source\": \"x\" } } }", "events.ExitIO: unknown event (did you mean 'ExitIo'?)")]
    [InlineData("{ \"name\": \"bad\", \"events\": { }, \"instructions\": { \"default\": { \"cycles\": 1, \"source\": \"x\" } } }", "events.ExceptionDelivered: missing: every event must be priced")]
    [InlineData("{ \"name\": \"bad\", ", "line 1: bad JSON")]
    public void ABadProfileFileIsOneLineNamingFileEntryAndProblem(string json, string expected)
    {
        string file = _temp.File("bad.json");
        File.WriteAllText(file, json);
        foreach (var args in new[] { new[] { "run", "-p", file, "-o", _temp.File("x") }, ["report", "ignored.json", "-p", file] })
        {
            var r = Cli.Run(args);
            Assert.Equal(1, r.ExitCode);
            Assert.Single(r.ErrorLines);
            Assert.StartsWith(args[0] == "run" ? $"virtbench: {file}: {expected}" : "virtbench: ignored.json: file not found", r.ErrorLines[0]);
        }
    }

    [Fact]
    public void UnreadableResultsAreInputErrors()
    {
        var missing = Cli.Run("report", _temp.File("none.json"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal([$"virtbench: {_temp.File("none.json")}: file not found"], missing.ErrorLines);

        string notResults = _temp.File("profile.json");
        File.WriteAllText(notResults, "{ \"name\": \"x\" }");
        var wrong = Cli.Run("report", notResults);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Equal([$"virtbench: {notResults}: schema: is not \"virtbench-results\": not a virtbench results file"], wrong.ErrorLines);

        string garbage = _temp.File("garbage.json");
        File.WriteAllText(garbage, "not json at all");
        Assert.Equal([$"virtbench: {garbage}: line 1: bad JSON (not a results file?)"], Cli.Run("report", garbage).ErrorLines);
    }

    [Fact]
    public void AnEmptyBuildSaysSo()
    {
        var r = Cli.RunWith(new Toolbox([], []), "run");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(["virtbench: no engines are available in this build of virtbench"], r.ErrorLines);
    }

    [Fact]
    public void AnUnwritableOutputFolderIsAnInputError()
    {
        string file = _temp.File("a-file");
        File.WriteAllText(file, "");
        var r = Cli.Run("run", "-o", Path.Combine(file, "sub"));
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.ErrorLines);
        Assert.StartsWith("virtbench: ", r.Error);
    }
}
