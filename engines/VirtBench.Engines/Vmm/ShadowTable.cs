namespace VirtBench.Engines.Vmm;

/// <summary>
/// One shadow page directory or page table: a 4 KiB frame of VMM memory that the MMU walks in place of a guest
/// table. A traced shadow follows one guest table frame (and can be shared: every shadow directory whose guest
/// directory points at the same guest page table links the same shadow table, as the kernel's identity map is
/// shared by every address space); a private one shadows something with no guest table behind it (the guest's
/// physical mode, a 4 MiB guest page).
/// </summary>
internal sealed class ShadowTable
{
    /// <summary><see cref="GuestFrame"/> of a private shadow.</summary>
    public const uint NoFrame = uint.MaxValue;

    public ShadowTable(uint machine, uint guestFrame, bool isDirectory)
    {
        Machine = machine;
        GuestFrame = guestFrame;
        if (isDirectory) Children = new ShadowTable?[1024];
    }

    /// <summary>Machine address of the shadow's frame.</summary>
    public uint Machine { get; }

    /// <summary>The guest frame number of the guest table it follows, or <see cref="NoFrame"/>.</summary>
    public uint GuestFrame { get; }

    /// <summary>A directory's page tables, by directory index (null for a page table).</summary>
    public ShadowTable?[]? Children { get; }

    /// <summary>A page table's links: the directories (and indices) that point at it.</summary>
    public List<(ShadowTable Directory, int Index)> Parents { get; } = [];

    /// <summary>A directory's last activation (least recently used ones are evicted first).</summary>
    public long LastUse { get; set; }

    /// <summary>True for a page directory.</summary>
    public bool IsDirectory => Children is not null;
}
