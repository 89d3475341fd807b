using VirtBench.Engines.Peers;
using VirtBench.Reports.HostSpeed;

namespace VirtBench.Cli.Tests;

/// <summary><c>virtbench peers</c>: real images in QEMU where it is installed, and a clear skip where it is not.</summary>
public sealed class PeersTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [SkippableFact]
    public void TwoWorkloadsGiveTheNativeEnginesOutputInQemu()
    {
        string? unavailable = Qemu.UnavailableReason();
        Skip.If(unavailable is not null, unavailable);
        var r = Cli.RunWith(Toolbox.Default, "peers", "--workloads", "syscall,forkwait", "--scale", "0.5", "--repeat", "1", "-o", _temp.Path);
        Assert.True(r.ExitCode == 0, r.Output + r.Error);
        Assert.Equal("", r.Error);
        var peers = HostMeasurements.Load(_temp.Path).Peers!;
        Assert.Equal(["syscall", "forkwait"], peers.Images.Select(p => p.Name));
        Assert.All(peers.Images, p => Assert.True(p.OutputMatches, $"{p.Name}: {p.Message}"));
        Assert.StartsWith("QEMU emulator version", peers.Qemu);
        var syscall = peers.Images[0].Qemu;
        Assert.Equal((20_000u, 40_000u, 20_000ul, 40_000ul), (syscall.Small.Iterations, syscall.Large.Iterations, syscall.Small.Ops, syscall.Large.Ops));
        Assert.Contains("[2/2] forkwait: same output as native", r.Output);
        Assert.Contains("All 2 images give the native engine's output in QEMU", r.Output);
    }

    [Fact]
    public void WithoutQemuItSaysSoInOneLineAndWritesNothing()
    {
        var r = Cli.RunWith(Cli.Fakes with { QemuUnavailableReason = () => "qemu-system-i386 is not installed (apt-get install qemu-system-x86)" },
            "peers", "-o", _temp.Path);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["virtbench peers: qemu-system-i386 is not installed (apt-get install qemu-system-x86); skipped, no peers data written"],
            r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path));
    }
}
