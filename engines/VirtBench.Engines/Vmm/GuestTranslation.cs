namespace VirtBench.Engines.Vmm;

/// <summary>How a VMM's software walk of the guest's page tables ended.</summary>
public enum GuestTranslationStatus
{
    /// <summary>The guest maps the address with the permissions the access needs.</summary>
    Ok,
    /// <summary>The guest itself would take a page fault (see the error code).</summary>
    PageFault,
    /// <summary>The guest maps the address to a frame outside its RAM (a VMM must never map that frame).</summary>
    OutsideGuestRam,
}

/// <summary>The result of translating a guest linear address through the guest's own page tables.</summary>
/// <param name="Status">Outcome.</param>
/// <param name="Physical">Guest-physical address (for <see cref="GuestTranslationStatus.Ok"/> and OutsideGuestRam).</param>
/// <param name="ErrorCode">The #PF error code the guest would see (P, W/R, U/S bits).</param>
/// <param name="PdeAddress">Guest-physical address of the PDE used (0 with paging off).</param>
/// <param name="PteAddress">Guest-physical address of the PTE used (0 with paging off or for a 4 MiB page).</param>
/// <param name="Pde">The PDE's value.</param>
/// <param name="Pte">The PTE's value (for a 4 MiB page: the PDE's).</param>
public readonly record struct GuestTranslation(
    GuestTranslationStatus Status, uint Physical, uint ErrorCode, uint PdeAddress, uint PteAddress, uint Pde, uint Pte)
{
    /// <summary>True for <see cref="GuestTranslationStatus.Ok"/>.</summary>
    public bool Ok => Status == GuestTranslationStatus.Ok;

    /// <summary>The effective user bit (PDE.US and PTE.US).</summary>
    public bool User => (Pde & Pte & 4) != 0;

    /// <summary>The effective writable bit (PDE.RW and PTE.RW).</summary>
    public bool Writable => (Pde & Pte & 2) != 0;

    /// <summary>The PTE's dirty bit.</summary>
    public bool Dirty => (Pte & 0x40) != 0;

    /// <summary>Guest entries (PDE, PTE) whose accessed or dirty bit the walk set.</summary>
    public int AccessedDirtyUpdates { get; init; }
}
