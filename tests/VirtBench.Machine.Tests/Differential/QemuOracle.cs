using VirtBench.Engines.Peers;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>Runs one image in QEMU and on this machine, for tests that compare their serial output.</summary>
internal static class QemuOracle
{
    /// <summary>Instruction budget for our run of a differential image.</summary>
    public const ulong Budget = 50_000_000;

    /// <summary>Skips the calling [SkippableFact]/[SkippableTheory] with the reason when QEMU is not installed.</summary>
    public static void SkipIfUnavailable()
    {
        string? reason = Qemu.UnavailableReason();
        Skip.If(reason is not null, $"QEMU differential test skipped: {reason}");
    }

    /// <summary>Boots the image in both; returns QEMU's serial output, ours, and our outcome.</summary>
    public static (string Qemu, string Ours, RunOutcome Outcome) Run(GuestImage image)
    {
        var pc = new Pc(image, new MachineOptions { InstructionBudget = Budget });
        var outcome = pc.Run();
        var qemu = Qemu.Run(image, TimeSpan.FromSeconds(20));
        Assert.False(qemu.TimedOut, $"QEMU did not finish {image.Name} within 20 s; its output ends with:\n{Tail(qemu.SerialOutput)}");
        return (qemu.SerialOutput, pc.Uart.Output, outcome);
    }

    /// <summary>The last lines of an output, for messages.</summary>
    public static string Tail(string text, int lines = 5) =>
        string.Join('\n', text.Split('\n').TakeLast(lines));
}
