using System.CommandLine;
using VirtBench.Engines;
using VirtBench.Engines.BinaryTranslation;
using VirtBench.Engines.BinaryTranslation.Inspection;
using VirtBench.Machine;

namespace VirtBench.Cli.Commands;

/// <summary>
/// <c>virtbench translate WORKLOAD [--top N] [-n ITERATIONS] [-o FILE]</c>: runs a workload on the binary translator and
/// shows its hottest translation units, each guest instruction beside the translated code that stands for it.
/// </summary>
internal static class TranslateCommand
{
    public static Command Create(Toolbox toolbox, TextWriter output)
    {
        var workload = new Argument<string>("workload") { Description = "The workload (see virtbench list)" };
        var top = Options.Whole("--top", "How many units to show, hottest first", 1, 10_000, () => 10);
        var iterations = Options.Whole<uint>("--iterations", "Iterations (default: the workload's default)", 1, uint.MaxValue);
        iterations.Aliases.Add("-n");
        var file = new Option<string>("--output", "-o") { Description = "Write the listing to this file instead of the console" };
        var noAdaptation = new Option<bool>("--no-adaptive-translation") { Description = "Keep page-table writers as tracing faults" };
        var command = new Command("translate", "Run a workload under binary translation and show its hottest translation units, guest code beside its translation")
        {
            workload, top, iterations, file, noAdaptation,
        };
        command.SetAction(parse =>
        {
            var spec = toolbox.Workload(parse.GetValue(workload)!);
            var engine = toolbox.Engines.OfType<BinaryTranslationEngine>().FirstOrDefault()
                         ?? throw new UsageException("the binary-translation engine is not in this build of virtbench");
            uint n = parse.GetResult(iterations) is { Implicit: false } ? parse.GetValue(iterations) : spec.DefaultIterations;
            var options = new RunOptions { AdaptiveTranslation = !parse.GetValue(noAdaptation) };
            var listing = engine.Translate(spec.BuildImage(engine.Flavor, n), options, parse.GetValue(top));
            string? path = parse.GetValue(file);
            if (path is null)
            {
                Write(output, spec.Name, n, listing);
                return Program.Success;
            }
            using (var writer = new StreamWriter(path)) Write(writer, spec.Name, n, listing);
            output.WriteLine($"wrote {path}: the {listing.Hottest.Count} hottest of {listing.Units} translation units of {spec.Name} ({n} iterations)");
            return Program.Success;
        });
        return command;
    }

    private static void Write(TextWriter w, string workload, uint iterations, TranslationListing listing)
    {
        var run = listing.Run;
        w.WriteLine($"binary-translation x {workload} ({iterations} iterations): {Describe(run.Outcome)}");
        w.WriteLine($"translation cache: {listing.Units} units, {listing.GuestInstructions} guest instructions, {listing.CacheBytes:N0} bytes, {listing.Flushes} flushes; " +
                    $"{run.Total[Event.BtUnitTranslated]} units translated in the run, {run.Total[Event.BtChainPatch]} chain patches, {run.Total[Event.BtInvalidation]} invalidations");
        w.WriteLine($"the {listing.Hottest.Count} hottest units, by entries at their start:");
        foreach (var unit in listing.Hottest)
        {
            w.WriteLine();
            w.WriteLine($"unit {unit.GuestAddress:x8} {unit.Location}: {unit.Executions:N0} entries; translation at {unit.TranslationAddress:x8}, {unit.TranslationBytes} bytes");
            int width = Math.Max(40, unit.Rows.Where(r => r.Guest is not null).Max(r => r.Guest!.Length) + 2);
            foreach (var row in unit.Rows)
                for (int i = 0; i < row.Translation.Count; i++)
                {
                    string guest = i == 0 ? row.Guest ?? "(exit stubs)" : "";
                    w.WriteLine($"  {guest.PadRight(width)}| {row.Translation[i]}");
                }
        }
    }

    private static string Describe(RunOutcome outcome) =>
        outcome.IsSuccess ? "the guest exited normally" : $"the run ended early: {outcome}";
}
