namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// <c>hw-ept</c>: VT-x with nested paging. The guest owns its page tables: CR3 loads, invlpg, page-table writes
/// and page faults stay in the guest, and every TLB miss walks both the guest's tables and the VMM's nested ones.
/// Exits remain for port I/O, hlt, cpuid, timer interrupts and their injection, and first touches of guest RAM.
/// </summary>
public sealed class NestedPagingEngine : HardwareAssistedEngine
{
    /// <inheritdoc />
    public override string Name => "hw-ept";

    /// <inheritdoc />
    public override string Description => "VT-x with nested paging (EPT): the unmodified kernel at ring 0 in VMX non-root mode, owning its page tables";

    private protected override IMemoryVirtualization CreateMemoryVirtualization() => new NestedPaging();
}
