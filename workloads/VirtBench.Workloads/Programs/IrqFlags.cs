using VirtBench.Workloads.Kernel;

namespace VirtBench.Workloads.Programs;

/// <summary>irqflags: the kernel saves, restores, disables and enables interrupts in a loop.</summary>
internal static class IrqFlags
{
    public static Workload Definition { get; } = NanoLoops.KernelLoop("irqflags", "cli/sti and pushf/popf (local_irq_save/restore) in the kernel: the virtual interrupt flag",
        150_000, KernelBenchKind.IrqFlags);
}
