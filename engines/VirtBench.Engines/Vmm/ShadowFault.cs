namespace VirtBench.Engines.Vmm;

/// <summary>What a page fault under shadow paging turned out to be.</summary>
public enum ShadowFaultKind
{
    /// <summary>A hidden fault: the shadow lacked an entry the guest's tables allow; it has been filled (retry the instruction).</summary>
    Hidden,
    /// <summary>The guest's own tables fault: reflect #PF with <see cref="ShadowFault.ErrorCode"/> (and the address as CR2).</summary>
    Guest,
    /// <summary>A write to a traced guest page (a page table or descriptor table): emulate it, or unshadow the page.</summary>
    TracedWrite,
    /// <summary>A write the guest allows that the shadow cannot (a supervisor write to a read-only page with the guest's CR0.WP clear): emulate it.</summary>
    WriteNeedsEmulation,
    /// <summary>An address in the hypervisor region, which the guest may not reach whatever its tables say.</summary>
    HypervisorRegion,
}

/// <summary>The outcome of <see cref="ShadowPageTables.HandlePageFault"/>.</summary>
/// <param name="Kind">What it was.</param>
/// <param name="ErrorCode">For <see cref="ShadowFaultKind.Guest"/>: the error code the guest's own MMU would report.</param>
/// <param name="Physical">For writes: the guest-physical address written.</param>
public readonly record struct ShadowFault(ShadowFaultKind Kind, uint ErrorCode = 0, uint Physical = 0);
