using System.Buffers.Binary;
using System.Text;
using VirtBench.Machine;
using VirtBench.Reports.Suite;

namespace VirtBench.Testing;

/// <summary>
/// Tiny fake workloads for report and CLI tests: the "image" carries the workload's name and iteration count,
/// which <see cref="FakeEngine"/> reads back.
/// </summary>
internal static class FakeWorkloads
{
    /// <summary>Two workloads, with default sizes of 100 and 40 iterations.</summary>
    public static IReadOnlyList<WorkloadSpec> All { get; } =
    [
        Make("syscall", "null system call through int 0x80", 100),
        Make("forkwait", "fork, child exits, parent waits", 40),
    ];

    /// <summary>A fake workload whose image encodes its name and iteration count.</summary>
    public static WorkloadSpec Make(string name, string description, uint iterations) =>
        new(name, description, iterations, (flavor, n) => Image(name, flavor, n));

    /// <summary>The fake image bytes: "FAKE", the iteration count, the name.</summary>
    public static GuestImage Image(string name, KernelFlavor flavor, uint iterations)
    {
        var bytes = new byte[8 + name.Length];
        Encoding.ASCII.GetBytes("FAKE").CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), iterations);
        Encoding.ASCII.GetBytes(name).CopyTo(bytes, 8);
        return new GuestImage(bytes, $"{name}-{flavor.ToString().ToLowerInvariant()}", flavor);
    }

    /// <summary>The workload name and iteration count of a fake image.</summary>
    public static (string Workload, uint Iterations) Decode(GuestImage image) =>
        (Encoding.ASCII.GetString(image.Bytes, 8, image.Bytes.Length - 8), BinaryPrimitives.ReadUInt32LittleEndian(image.Bytes.AsSpan(4)));

    /// <summary>What a correct run of a fake workload prints.</summary>
    public static string ExpectedOutput(string workload, uint iterations) => $"{workload}: {iterations} ops ok\n";
}
