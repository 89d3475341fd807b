using VirtBench.Engines.Peers;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>
/// QEMU 7.2 (TCG) is the oracle for the expectations of the instruction cases: every family's cases run in one
/// image under QEMU, and QEMU must produce exactly what each case expects (the machine's own theories check
/// the machine). Cases QEMU cannot judge say why and are left out.
/// </summary>
public class QemuAgreementTests
{
    internal static IEnumerable<CpuCase> AllCases =>
        ShiftTests.Cases.Concat(MulDivTests.Cases).Concat(BitOpsTests.Cases).Concat(AtomicsTests.Cases).Concat(BcdTests.Cases)
            .Concat(MiscellaneousTests.Cases).Concat(StringTests.Cases).Concat(ExistingFamilyTests.Cases);

    [SkippableFact]
    public void QemuProducesWhatEveryCaseExpects()
    {
        string? unavailable = Qemu.UnavailableReason();
        Skip.If(unavailable is not null, unavailable);
        var cases = AllCases.Where(c => c.MachineOnly is null).ToList();
        var built = CaseImage.Build(cases);
        var run = Qemu.Run(built.Image, TimeSpan.FromSeconds(60));
        Assert.False(run.TimedOut, $"QEMU timed out; output so far:\n{run.SerialOutput[..Math.Min(run.SerialOutput.Length, 2000)]}");
        var dumps = CaseRunner.Parse(run.SerialOutput);
        Assert.True(dumps.Count == cases.Count, $"QEMU printed {dumps.Count} of {cases.Count} case dumps (exit {run.ExitStatus}): {run.StandardError}");
        var problems = new List<string>();
        foreach (var d in dumps)
        {
            var c = cases[d.Index];
            var differences = CaseRunner.Compare(c, d, built.CodeStarts[d.Index]);
            if (differences.Count > 0) problems.Add($"{c.Name}: {string.Join("; ", differences)}");
        }
        Assert.True(problems.Count == 0, $"QEMU disagrees with {problems.Count} case(s):\n" + string.Join("\n", problems));
    }

    [Fact]
    public void AllCasesTogetherGiveTheSameResultsAsAlone()
    {
        // The batched image QEMU runs must mean the same on this machine as the single-case images.
        var cases = AllCases.ToList();
        var built = CaseImage.Build(cases);
        var dumps = CaseRunner.RunOnMachine(built.Image);
        Assert.Equal(cases.Count, dumps.Count);
        var problems = dumps.SelectMany(d => CaseRunner.Compare(cases[d.Index], d, built.CodeStarts[d.Index]).Select(p => $"{cases[d.Index].Name}: {p}")).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void CaseNamesAreUnique()
    {
        var duplicates = AllCases.GroupBy(c => c.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, "duplicate case names: " + string.Join(", ", duplicates));
    }
}
