using VirtBench.Machine;

namespace VirtBench.Engines.Paravirt;

/// <summary>
/// Paravirtualization, Xen-style (Barham et al., SOSP 2003): the paravirtual kernel build runs at ring 1 under a
/// hypervisor it calls with hypercalls; its page tables are its own, validated on every change and walked by the
/// MMU directly; system calls reach it without the hypervisor; page faults and interrupts reach it through the
/// hypervisor; its devices are served through a shared ring.
/// </summary>
public sealed class ParavirtEngine : IEngine
{
    /// <inheritdoc />
    public string Name => "paravirt";

    /// <inheritdoc />
    public string Description => "paravirtualization (Xen-style): the modified kernel runs at ring 1 and calls a hypervisor through hypercalls";

    /// <inheritdoc />
    public KernelFlavor Flavor => KernelFlavor.Paravirtual;

    /// <inheritdoc />
    public EngineRun Run(GuestImage image, RunOptions options)
    {
        var layout = HypervisorLayout.For(options.Machine.RamBytes);
        var pc = MachineRun.Create(this, image, options, layout.VmmBytes);
        DomainBuilder.Build(pc);
        var run = MachineRun.Collect(this, pc, pc.Run());
        CountFastSystemCalls(run.Total);
        if (run.Measured is not null) CountFastSystemCalls(run.Measured);
        return run;
    }

    /// <summary>
    /// The CPU delivers through the IDT only the direct system-call gate (every other vector goes to the
    /// hypervisor, and a failed delivery crashes the domain), so each native software-interrupt delivery is
    /// exactly one fast system call.
    /// </summary>
    private static void CountFastSystemCalls(Counters counters) =>
        counters.Add(Event.FastSystemCall, counters[Event.SoftwareInterruptDelivered]);
}
