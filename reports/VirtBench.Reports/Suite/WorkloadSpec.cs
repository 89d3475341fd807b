using VirtBench.Machine;

namespace VirtBench.Reports.Suite;

/// <summary>
/// A workload as the suite runner needs it, supplied by the caller (the CLI composes it from the workload
/// catalog, so that this project does not depend on the guest's code).
/// </summary>
/// <param name="Name">Command-line name (e.g. <c>forkwait</c>).</param>
/// <param name="Description">One line: what it stresses.</param>
/// <param name="DefaultIterations">Iterations at the default size.</param>
/// <param name="BuildImage">Builds the bootable image for a kernel flavor and an iteration count.</param>
public sealed record WorkloadSpec(string Name, string Description, uint DefaultIterations, Func<KernelFlavor, uint, GuestImage> BuildImage)
{
    /// <summary>The iteration count at a scale: the default times <paramref name="scale"/>, rounded, at least 1.</summary>
    public uint IterationsAt(double scale) => (uint)Math.Clamp(Math.Round(DefaultIterations * scale), 1, uint.MaxValue);
}
