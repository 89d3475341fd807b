using VirtBench.Machine;
using VirtBench.Workloads.User;

namespace VirtBench.Workloads.Tests;

/// <summary>Builds images from test programs written with the same emitters as the workloads.</summary>
internal static class TestImages
{
    /// <summary>An image whose init runs <paramref name="init"/>; further programs are available to exec.</summary>
    public static KernelBuild Build(KernelFlavor flavor, string name, Action<UserCode> init, params Action<UserCode>[] others) =>
        ImageBuilder.BuildKernel(name, flavor,
            [new GuestProgram(name, init), .. others.Select((emit, i) => new GuestProgram($"{name}-{i + 1}", emit))]);

    /// <summary>The address of a symbol of init.</summary>
    public static uint Symbol(this KernelBuild build, string name) => build.Programs[0][name];
}
