using VirtBench.Engines.BinaryTranslation;

namespace VirtBench.Cli.Tests;

/// <summary><c>virtbench translate</c>: the hottest translation units of a workload, guest code beside its translation.</summary>
public sealed class TranslateCommandTests : IDisposable
{
    private static readonly Toolbox Real = new([new BinaryTranslationEngine()], WorkloadSource.All);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ListsTheHottestUnitsGuestCodeBesideItsTranslation()
    {
        var r = Cli.RunWith(Real, "translate", "irqflags", "-n", "9000", "--top", "3");

        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Error);
        var lines = r.Output.Split('\n');
        Assert.Equal("binary-translation x irqflags (9000 iterations): the guest exited normally", lines[0]);
        Assert.StartsWith("translation cache: ", lines[1]);
        Assert.Equal("the 3 hottest units, by entries at their start:", lines[2]);
        var units = lines.Where(l => l.StartsWith("unit ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, units.Count);
        Assert.Matches(@"^unit [0-9a-f]{8} kbench\.irqflags\+0x1: 8,99\d entries; translation at [0-9a-f]{8}, \d+ bytes$", units[0]);
        // The loop: pushfd and popfd as in-TC sequences, cli as one store to the VMM's data, IDENT copies, chained exits.
        Assert.Contains(lines, l => l.Contains(": pushfd ") && l.Contains("| ") && l.EndsWith("pushfd   ; in-TC sequence", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(": cli ") && l.EndsWith("mov     dword ptr gs:[0], 0   ; in-TC sequence", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("imul    edi, 0x1000193   ; IDENT"));
        Assert.Contains(lines, l => l.Contains("; exit to ") && l.EndsWith(", chained", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("(exit stubs)") && l.Contains("ud2   ; exit stub to "));
    }

    [Fact]
    public void WritesTheListingToAFile()
    {
        string path = _temp.File("listing.txt");
        var toFile = Cli.RunWith(Real, "translate", "syscall", "-n", "10000", "--top", "8", "-o", path);
        var toConsole = Cli.RunWith(Real, "translate", "syscall", "-n", "10000", "--top", "8");

        Assert.Equal(0, toFile.ExitCode);
        Assert.Equal($"wrote {path}: the 8 hottest of ", toFile.Output[..($"wrote {path}: the 8 hottest of ".Length)]);
        Assert.EndsWith(" translation units of syscall (10000 iterations)\n", toFile.Output);
        Assert.Equal(toConsole.Output, File.ReadAllText(path));
        Assert.Contains("; callout: Emulate (BtCalloutReturn)", toConsole.Output);   // iret
        Assert.Contains("; to the indirect lookup", toConsole.Output);                // ret
    }

    [Theory]
    [InlineData("virtbench: unknown workload 'nope': expected one of syscall, sysenter, in, irqflags, callret, ptemod, pgfault, divzero, cpuid, rdtsc, forkwait, ctxswitch, mmap, pipe, spawn, io, server, compute", "translate", "nope")]
    [InlineData("virtbench: --top '0' is invalid: expected a whole number from 1 to 10000 (see virtbench --help)", "translate", "syscall", "--top", "0")]
    [InlineData("virtbench: --iterations 'x' is invalid: expected a whole number from 1 to 4294967295 (see virtbench --help)", "translate", "syscall", "-n", "x")]
    public void BadArgumentsAreUsageErrors(string expected, params string[] args)
    {
        var r = Cli.RunWith(Real, args);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal([expected], r.ErrorLines);
    }

    [Fact]
    public void WithoutTheEngineItSaysSo()
    {
        var r = Cli.Run("translate", "syscall");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(["virtbench: the binary-translation engine is not in this build of virtbench"], r.ErrorLines);
    }

    [Fact]
    public void AnUnwritableOutputIsAnInputError()
    {
        var r = Cli.RunWith(Real, "translate", "syscall", "-n", "10", "-o", _temp.File("missing/listing.txt"));
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.ErrorLines);
        Assert.StartsWith("virtbench: Could not find a part of the path", r.ErrorLines[0]);
    }
}
