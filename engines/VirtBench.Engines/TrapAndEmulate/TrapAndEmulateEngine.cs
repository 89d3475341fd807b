using VirtBench.Machine;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.TrapAndEmulate;

/// <summary>
/// The classical trap-and-emulate VMM (DESIGN.md section 6): the unmodified guest kernel deprivileged to ring 1,
/// privileged instructions trapping into the VMM and emulated on a virtual CPU, exceptions and interrupts reflected,
/// memory virtualized with shadow page tables. On real x86 (<c>trap-emulate</c>) the sensitive unprivileged
/// instructions do not trap and the engine records each virtualization hole it passes over; on a hypothetical x86
/// where they trap (<c>trap-emulate-pg</c>, Popek and Goldberg's condition) the same VMM is correct.
/// </summary>
public sealed class TrapAndEmulateEngine : IEngine
{
    /// <summary>Machine memory the VMM gets above guest RAM: its descriptor tables and the shadow page tables.</summary>
    public const uint VmmBytes = 8u << 20;

    private readonly SensitiveMode _mode;

    /// <summary>The engine on real x86 (<see cref="SensitiveMode.Observe"/>) or on the Popek-Goldberg CPU (<see cref="SensitiveMode.Trap"/>).</summary>
    public TrapAndEmulateEngine(SensitiveMode mode)
    {
        if (mode is not (SensitiveMode.Observe or SensitiveMode.Trap))
            throw new ArgumentException($"sensitive-instruction mode {mode} is invalid for trap-and-emulate: use Observe (real x86) or Trap (Popek-Goldberg)", nameof(mode));
        _mode = mode;
    }

    /// <inheritdoc />
    public string Name => _mode == SensitiveMode.Trap ? "trap-emulate-pg" : "trap-emulate";

    /// <inheritdoc />
    public string Description => _mode == SensitiveMode.Trap
        ? "trap-and-emulate on a hypothetical x86 where every sensitive instruction traps (Popek-Goldberg): correct, and its cost"
        : "classical trap-and-emulate VMM on real x86: kernel at ring 1, shadow page tables; records the virtualization holes it passes over";

    /// <inheritdoc />
    public KernelFlavor Flavor => KernelFlavor.Native;

    /// <inheritdoc />
    public EngineRun Run(GuestImage image, RunOptions options)
    {
        var pc = MachineRun.Create(this, image, options, VmmBytes);
        var monitor = new TrapAndEmulateMonitor(pc, _mode);
        var outcome = pc.Run();
        return MachineRun.Collect(this, pc, outcome, monitor.Detector?.Recorded);
    }
}
