using VirtBench.Machine;

namespace VirtBench.Engines;

/// <summary>
/// One x86 virtualization technique (DESIGN.md section 6). An engine runs a guest image on the simulated PC
/// in its own way and returns what happened, counted exactly. Engines never read a cost profile.
/// </summary>
public interface IEngine
{
    /// <summary>The name used on the command line (e.g. <c>trap-emulate</c>).</summary>
    string Name { get; }

    /// <summary>One line saying what the technique is.</summary>
    string Description { get; }

    /// <summary>The kernel build this engine needs.</summary>
    KernelFlavor Flavor { get; }

    /// <summary>Runs the image to its end (exit, halt, budget or fault) and returns the counts and output.</summary>
    EngineRun Run(GuestImage image, RunOptions options);
}
