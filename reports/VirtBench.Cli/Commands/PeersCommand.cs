using System.CommandLine;
using VirtBench.Benchmarks.Engines;
using VirtBench.Benchmarks.Machine;
using VirtBench.Engines.Peers;
using VirtBench.Machine;
using VirtBench.Reports;
using VirtBench.Reports.HostSpeed;
using VirtBench.Reports.Results;
using VirtBench.Reports.Suite;

namespace VirtBench.Cli.Commands;

/// <summary>
/// <c>virtbench peers</c>: boots every workload's image (and the machine's speed loops) in QEMU, checks its
/// output against the native engine's, and measures QEMU's host time per operation, into peers.json.
/// </summary>
internal static class PeersCommand
{
    /// <summary>
    /// The default iteration scale: the smaller size <c>virtbench bench</c> times, so that QEMU runs the very images the
    /// engines were timed on (and QEMU's extra time at 2N stands well above its start-up noise).
    /// </summary>
    private static readonly double DefaultScale = EngineCases.Scales[0];

    public static Command Create(Toolbox toolbox, TextWriter output)
    {
        var images = new Option<string?>("--workloads", "-w") { Description = "Comma-separated workloads or speed loops (default: all)" };
        var scale = Options.Positive("--scale", "Factor applied to every image's default iterations for the smaller size (the larger is twice it)", 0, 1000, DefaultScale);
        var repeat = Options.Whole("--repeat", "QEMU runs per size (the fastest counts)", 1, 100, () => 3);
        var timeout = Options.Whole("--timeout", "Seconds a QEMU run may take before it is stopped", 1, 86_400, () => 120);
        var out_ = new Option<string>("--out", "-o") { Description = "Report folder to write peers.json into", DefaultValueFactory = _ => RunCommand.DefaultOut };
        var command = new Command("peers",
            "Boot every image in QEMU (TCG), check its output against the native engine's and measure QEMU's host time per operation (peers.json)")
        {
            images, scale, repeat, timeout, out_,
        };
        command.SetAction(parse =>
        {
            var all = toolbox.Workloads.Concat(SpeedLoops.All.Select(LoopImage)).ToList();
            var selected = Toolbox.Select(parse.GetValue(images), all, w => w.Name, "workload or speed loop");
            var native = toolbox.Engines.FirstOrDefault(e => e.Name == SuiteResults.BaselineEngine)
                         ?? throw new UsageException($"virtbench peers compares with the {SuiteResults.BaselineEngine} engine, which this build lacks");
            if (toolbox.QemuUnavailableReason() is { } reason)
            {
                output.WriteLine($"virtbench peers: {reason}; skipped, no peers data written");
                return Program.Success;
            }
            int seconds = parse.GetValue(timeout);
            var options = new PeerOptions
            {
                IterationScale = parse.GetValue(scale),
                Repeats = parse.GetValue(repeat),
                Boot = image => Qemu.Run(image, TimeSpan.FromSeconds(seconds)),
                QemuVersion = Qemu.Version(),
            };
            output.WriteLine($"virtbench peers: {selected.Count} images in {options.QemuVersion} (TCG), at {options.IterationScale.ToString(System.Globalization.CultureInfo.InvariantCulture)}x " +
                             $"and twice the default iterations, fastest of {options.Repeats} runs per size");
            int done = 0;
            var peers = PeerRunner.Run(selected, native, options, r => output.WriteLine(
                $"[{++done}/{selected.Count}] {r.Name}: " + (r.OutputMatches ? "same output as native" : $"DIFFERS: {r.Message}") +
                $"; QEMU {Format.Nanoseconds(r.Qemu.HostNanosecondsPerOp)}/op, {Format.MillionsPerSecond(r.Qemu.GuestInstructionsPerSecond)} guest instructions"));
            string directory = parse.GetValue(out_)!;
            string file = HostMeasurements.SavePeers(peers, directory);
            int differ = peers.Images.Count(p => !p.OutputMatches);
            output.WriteLine(differ == 0
                ? $"All {peers.Images.Count} images give the native engine's output in QEMU. Peers: {file}"
                : $"{differ} of {peers.Images.Count} images differ from the native engine's output in QEMU (see above). Peers: {file}");
            ReportOutput.Refresh(directory, output);
            return Program.Success;
        });
        return command;
    }

    /// <summary>A speed loop as an image to compare: at the default scale it runs the iterations of its benchmark.</summary>
    private static WorkloadSpec LoopImage(SpeedLoop loop) =>
        new(loop.Name, "the machine's speed loop", (uint)Math.Max(1, loop.BenchIterations / DefaultScale), (_, n) => loop.Build(n));
}
