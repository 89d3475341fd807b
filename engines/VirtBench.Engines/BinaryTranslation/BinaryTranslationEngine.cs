using VirtBench.Engines.BinaryTranslation.Inspection;
using VirtBench.Engines.BinaryTranslation.Runtime;
using VirtBench.Machine;

namespace VirtBench.Engines.BinaryTranslation;

/// <summary>
/// VMware's software VMM (DESIGN.md section 6; Adams and Agesen, ASPLOS 2006): the unmodified guest kernel never runs
/// directly, from its first instruction; a binary translator turns it, unit by unit, into code the CPU runs at ring 1
/// from a translation cache (IDENT copies, in-TC sequences for the interrupt flag, callouts for privileged
/// instructions, chained branches, an inline lookup for indirect ones), adapting instructions that keep faulting on
/// traced page tables. User code runs directly at ring 3. Memory, devices, exceptions and interrupts are the shared
/// VMM's (shadow page tables, virtual devices, reflection, virtual interrupts).
/// </summary>
public sealed class BinaryTranslationEngine : IEngine
{
    /// <summary>Machine memory the VMM gets above guest RAM: descriptor tables, translator data, the translation cache, shadow page tables.</summary>
    public const uint VmmBytes = 16u << 20;

    /// <inheritdoc />
    public string Name => "binary-translation";

    /// <inheritdoc />
    public string Description =>
        "VMware-style binary translation: kernel code translated into a translation cache run at ring 1 (IDENT, in-TC sequences, callouts, chaining, adaptive translation), user code direct, shadow page tables";

    /// <inheritdoc />
    public KernelFlavor Flavor => KernelFlavor.Native;

    /// <inheritdoc />
    public EngineRun Run(GuestImage image, RunOptions options) => Run(image, options, out _, out _);

    /// <summary>
    /// Runs the image and lists what the translation cache holds at the end: its <paramref name="top"/> hottest units
    /// (by entries at their start), guest code beside its translation (<c>virtbench translate</c>).
    /// </summary>
    public TranslationListing Translate(GuestImage image, RunOptions options, int top)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        var run = Run(image, options, out var pc, out var monitor);
        return new TranslationLister(pc.Memory).List(run, monitor.Cache, image.Symbols, top);
    }

    private EngineRun Run(GuestImage image, RunOptions options, out Pc pc, out BinaryTranslationMonitor monitor)
    {
        pc = MachineRun.Create(this, image, options, VmmBytes);
        monitor = new BinaryTranslationMonitor(pc, options.AdaptiveTranslation);
        var outcome = pc.Run();
        return MachineRun.Collect(this, pc, outcome, monitor.Detector.Recorded);
    }
}
