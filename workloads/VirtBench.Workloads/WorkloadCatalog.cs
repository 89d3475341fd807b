using VirtBench.Workloads.Programs;

namespace VirtBench.Workloads;

/// <summary>
/// Every workload (DESIGN.md section 5), nanobenchmarks first.
/// </summary>
/// <remarks>
/// <para>Each workload's init program prints exactly one result line on COM1:</para>
/// <code>RESULT workload=NAME ops=OPERATIONS checksum=0xXXXXXXXX</code>
/// <para>NAME is the workload's name, OPERATIONS (decimal) the operation count it declared on the bench port for its
/// measured region, and the checksum (eight lowercase hex digits) a 32-bit FNV-1 over dwords (see
/// <see cref="Assembly.Fnv"/>) of values the work produced, never of timing, scheduling order or machine-dependent
/// values (cpuid and rdtsc results are not mixed in). The kernel prints one boot line before it
/// (<c>VirtBench guest kernel</c>), and a line per killed process or panic. The run ends through isa-debug-exit:
/// 0 when init exits 0 (QEMU status 1), 1 when init fails (status 3), 2 on a kernel panic (status 5).</para>
/// </remarks>
public static class WorkloadCatalog
{
    /// <summary>All workloads, in the order reports show them.</summary>
    public static IReadOnlyList<Workload> All { get; } =
    [
        Syscall.Definition, Sysenter.Definition, PortIn.Definition, IrqFlags.Definition, CallRet.Definition,
        PteMod.Definition, PageFault.Definition, DivZero.Definition, Cpuid.Definition, Rdtsc.Definition,
        ForkWait.Definition, ContextSwitch.Definition, MmapWorkload.Definition, PipeWorkload.Definition,
        Spawn.Definition, Io.Definition, Server.Definition, Compute.Definition,
    ];

    /// <summary>The workload with this name; throws <see cref="ArgumentException"/> listing the valid names otherwise.</summary>
    public static Workload Get(string name) =>
        All.FirstOrDefault(w => w.Name == name)
        ?? throw new ArgumentException($"unknown workload '{name}': expected one of {string.Join(", ", All.Select(w => w.Name))}");
}
