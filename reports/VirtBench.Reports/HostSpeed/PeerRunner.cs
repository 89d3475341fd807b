using VirtBench.Engines;
using VirtBench.Engines.Peers;
using VirtBench.Machine;
using VirtBench.Reports.Results;
using VirtBench.Reports.Suite;

namespace VirtBench.Reports.HostSpeed;

/// <summary>How <see cref="PeerRunner"/> runs QEMU.</summary>
public sealed record PeerOptions
{
    /// <summary>Factor applied to every image's default iteration count for the smaller size (the larger is twice it).</summary>
    public double IterationScale { get; init; } = 10;

    /// <summary>QEMU runs per size; the fastest counts.</summary>
    public int Repeats { get; init; } = 3;

    /// <summary>Boots an image in QEMU (tests pass a fake; by default qemu-system-i386 with a two-minute limit).</summary>
    public Func<GuestImage, QemuRun> Boot { get; init; } = image => Qemu.Run(image, TimeSpan.FromMinutes(2));

    /// <summary>QEMU's version line, recorded in the results.</summary>
    public string QemuVersion { get; init; } = "qemu-system-i386";
}

/// <summary>
/// Boots each image in QEMU (TCG) at N and 2N iterations, checks its serial output and exit status against the
/// native engine's on the same image, and keeps QEMU's fastest host time at each size: the difference is the
/// time of the extra N iterations alone, since boot and QEMU's start-up cost the same at both sizes.
/// </summary>
public static class PeerRunner
{
    /// <summary>Runs every image (native kernel builds) in order; <paramref name="progress"/> hears of each as it finishes.</summary>
    public static PeerResults Run(IReadOnlyList<WorkloadSpec> images, IEngine native, PeerOptions options, Action<PeerImageResult>? progress = null)
    {
        if (options.Repeats < 1) throw new ArgumentOutOfRangeException(nameof(options), "repeats must be at least 1");
        var results = new List<PeerImageResult>();
        foreach (var spec in images)
        {
            var result = Compare(spec, native, options);
            results.Add(result);
            progress?.Invoke(result);
        }
        return new PeerResults(DateTimeOffset.UtcNow, HostInfo.Current(), options.QemuVersion, options.Repeats, results);
    }

    private static PeerImageResult Compare(WorkloadSpec spec, IEngine native, PeerOptions options)
    {
        uint small = spec.IterationsAt(options.IterationScale);
        uint[] iterations = [small, checked(small * 2)];
        var images = iterations.Select(n => spec.BuildImage(KernelFlavor.Native, n)).ToArray();
        var reference = images.Select(image => native.Run(image, new RunOptions())).ToArray();
        var fastest = new[] { double.PositiveInfinity, double.PositiveInfinity };
        string? difference = reference.FirstOrDefault(r => !r.Outcome.IsSuccess) is { } failed ? $"the native engine did not finish: {failed.Outcome}" : null;
        for (int repeat = 0; repeat < options.Repeats; repeat++)
            for (int size = 0; size < 2; size++)
            {
                var qemu = options.Boot(images[size]);
                fastest[size] = Math.Min(fastest[size], qemu.HostTime.TotalSeconds);
                difference ??= Difference(qemu, reference[size], iterations[size]);
            }
        var timing = new TwoSizeTiming(
            Size(iterations[0], reference[0], fastest[0]),
            Size(iterations[1], reference[1], fastest[1]));
        return new PeerImageResult(spec.Name, difference is null, difference ?? "", timing);
    }

    /// <summary>A speed loop declares no measured region: each iteration is its operation.</summary>
    private static TimedSize Size(uint iterations, EngineRun native, double seconds) =>
        new(iterations, native.Operations > 0 ? native.Operations : iterations, native.Total.TotalInstructions, seconds);

    private static string? Difference(QemuRun qemu, EngineRun native, uint iterations)
    {
        string at = $"at {iterations} iterations";
        if (qemu.TimedOut) return $"QEMU timed out {at}";
        if (qemu.SerialOutput != native.UartOutput)
            return $"serial output {at} differs from the native engine's: {RunClassifier.FirstDifference(native.UartOutput, qemu.SerialOutput)}";
        int? expected = native.Outcome.Kind == OutcomeKind.DebugExit ? native.Outcome.ExitStatus : null;
        return expected is { } status && status != qemu.ExitStatus
            ? $"QEMU exit status {qemu.ExitStatus} {at}, the native engine's {status}"
            : null;
    }
}
