using System.Text;
using VirtBench.Machine.Tests.Guest;
using static VirtBench.Machine.Tests.Differential.InstructionFamily;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>
/// Differential testing against QEMU: generated sequences of integer instructions from every family, printed
/// register and flag dumps after every step, equal output required (DESIGN.md section 9).
/// </summary>
public class InstructionMixTests
{
    /// <summary>Sequences per image and steps per sequence (a QEMU boot costs about 0.1 s, so images hold many).</summary>
    private const int SequencesPerImage = 16, StepsPerSequence = 24;

    /// <summary>The images: core families, each other family weighted over the core, and everything mixed.</summary>
    private static readonly (string Name, InstructionFamily[] Families)[] Plans =
    [
        ("core-1", InstructionFamilies.Core), ("core-2", InstructionFamilies.Core), ("core-3", InstructionFamilies.Core),
        .. new[] { ShiftRotate, MultiplyDivide, BitOps, StringOps, CompareExchange, Bcd }.SelectMany(f => new[]
        {
            ($"{f}-1", Weighted(f)), ($"{f}-2", Weighted(f)),
        }),
        ("mixed-1", InstructionFamilies.All),
    ];

    private static InstructionFamily[] Weighted(InstructionFamily family) =>
        [.. Enumerable.Repeat(family, InstructionFamilies.Core.Length), .. InstructionFamilies.Core];

    public static TheoryData<string> Images() => new(Plans.Select(p => p.Name));

    private static InstructionMixImage Build(string name)
    {
        int index = Array.FindIndex(Plans, p => p.Name == name);
        return InstructionMixImage.Build(name, seed: 1000 + index, Plans[index].Families, SequencesPerImage, StepsPerSequence);
    }

    [Fact]
    public void EveryFamilyIsCoveredByAtLeast200Sequences()
    {
        Assert.True(Plans.Length * SequencesPerImage >= 200);
        var covered = Plans.SelectMany(p => p.Families).Distinct().ToHashSet();
        Assert.Equal(InstructionFamilies.All.ToHashSet(), covered);
    }

    [Fact]
    public void GenerationIsDeterministic()
    {
        var first = Build("mixed-1");
        var second = Build("mixed-1");
        Assert.Equal(first.Guest.Image.Bytes, second.Guest.Image.Bytes);
    }

    [SkippableTheory]
    [MemberData(nameof(Images))]
    public void MatchesQemu(string image)
    {
        QemuOracle.SkipIfUnavailable();
        var mix = Build(image);
        var (qemu, ours, outcome) = QemuOracle.Run(mix.Guest.Image);
        Assert.True(qemu.EndsWith("done\n"), $"{image}: QEMU did not run the image to the end (a generated step faulted or looped):\n{QemuOracle.Tail(qemu)}{Locate(mix, qemu)}");
        if (qemu != ours) Fail(mix, qemu, ours, outcome);
        Assert.True(outcome.IsSuccess, $"{image}: {outcome}");
    }

    private static void Fail(InstructionMixImage mix, string qemu, string ours, RunOutcome outcome)
    {
        string[] q = qemu.Split('\n'), o = ours.Split('\n');
        int line = 0;
        while (line < q.Length && line < o.Length && q[line] == o[line]) line++;

        // Which step printed (or should have printed) this line: count back to the "seq N" header.
        int header = Array.FindLastIndex(q, Math.Min(line, q.Length - 1), l => l.StartsWith("seq "));
        int sequence = header < 0 ? -1 : int.Parse(q[header][4..]);
        int step = line - header - 2;

        string ourLine = line < o.Length ? o[line] : $"<no more output: {outcome}>";
        string qemuLine = line < q.Length ? q[line] : "<no more output>";
        var report = new StringBuilder();
        report.AppendLine($"{mix.Name} (seed {mix.Seed}): our output differs from QEMU's at line {line + 1}.");

        if (ExceptionReport.TryParse(ourLine, out var exception) && mix.StepAt(exception.Eip) is var (faultSequence, faultStep))
        {
            var faulting = mix.Sequences[faultSequence].Steps[faultStep];
            report.AppendLine($"Our machine raised {Cpu.Vectors.Name(exception.Vector)} (error 0x{exception.ErrorCode:x}) in sequence {faultSequence}, step {faultStep} ({faulting.Family}):");
            report.AppendLine($"  {faulting.Listing}");
        }
        else if (sequence >= 0 && step >= 0 && step < mix.Sequences[sequence].Steps.Count)
        {
            var failing = mix.Sequences[sequence].Steps[step];
            report.AppendLine($"Sequence {sequence}, step {step} ({failing.Family}), undefined flags masked: {RegisterDump.DescribeFlags(failing.UndefinedFlags)}");
            report.AppendLine($"  {failing.Listing}");
        }
        else if (sequence >= 0 && step == -1) report.AppendLine($"Sequence {sequence}: the initial state differs.");
        report.AppendLine($"  before: {Field(q, line - 1)}");
        report.AppendLine($"  QEMU:   {qemuLine}");
        report.AppendLine($"  ours:   {ourLine}");
        if (RegisterDump.Parse(qemuLine) is { } expected && RegisterDump.Parse(ourLine) is { } actual)
            foreach (string field in RegisterDump.Fields.Where(f => expected[f] != actual[f]))
                report.AppendLine(field == "eflags"
                    ? $"  eflags: QEMU {expected[field]:x8} ({RegisterDump.DescribeFlags(expected[field])}), ours {actual[field]:x8} ({RegisterDump.DescribeFlags(actual[field])})"
                    : $"  {field}: QEMU {expected[field]:x8}, ours {actual[field]:x8}");
        Assert.Fail(report.ToString());
    }

    /// <summary>Where the last exception report of an output happened, as a step listing and the instruction.</summary>
    private static string Locate(InstructionMixImage mix, string output)
    {
        var last = output.Split('\n').LastOrDefault(l => ExceptionReport.TryParse(l, out _));
        if (last is null || !ExceptionReport.TryParse(last, out var report) || mix.StepAt(report.Eip) is not var (sequence, step)) return "";
        return $"\nat sequence {sequence}, step {step}: {mix.Sequences[sequence].Steps[step].Listing}\ninstruction: {mix.Guest.Disassemble(report.Eip)}";
    }

    private static string Field(string[] lines, int index) => index >= 0 && index < lines.Length ? lines[index] : "-";
}
