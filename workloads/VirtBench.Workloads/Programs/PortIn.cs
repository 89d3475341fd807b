using VirtBench.Workloads.Kernel;

namespace VirtBench.Workloads.Programs;

/// <summary>in: the kernel reads an I/O port in a loop.</summary>
internal static class PortIn
{
    public static Workload Definition { get; } = NanoLoops.KernelLoop("in", "port read in the kernel (the PIC's interrupt mask): I/O instruction virtualization",
        250_000, KernelBenchKind.In);
}
