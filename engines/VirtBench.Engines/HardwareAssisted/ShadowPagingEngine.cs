namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// <c>hw-shadow</c>: first-generation VT-x, with shadow page tables. The unmodified kernel runs at ring 0 in VMX
/// non-root mode, so system calls stay in the guest; but the MMU walks the VMM's shadows, so guest CR3 loads and
/// reads, invlpg, page faults (hidden ones, the guest's own, and writes to traced page tables) exit, besides port
/// I/O, hlt, cpuid, timer interrupts and their injection. No VPID: every VM entry flushes the TLB.
/// </summary>
public sealed class ShadowPagingEngine : HardwareAssistedEngine
{
    /// <inheritdoc />
    public override string Name => "hw-shadow";

    /// <inheritdoc />
    public override string Description => "first-generation VT-x: the unmodified kernel at ring 0 in VMX non-root mode, memory on shadow page tables";

    private protected override IMemoryVirtualization CreateMemoryVirtualization() => new ShadowPaging();
}
