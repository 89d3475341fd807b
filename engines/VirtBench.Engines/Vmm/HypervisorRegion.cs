using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The top 64 MiB of the linear address space (0xFC000000 and up), which the guest kernel never uses: software
/// VMMs map their own structures there in every shadow address space (the real GDT, IDT and TSS the CPU reads
/// through linear addresses), and keep a deprivileged guest out by truncating every guest segment below it, as
/// VMware's VMM and 32-bit Xen did.
/// </summary>
public static class HypervisorRegion
{
    /// <summary>First linear address of the region.</summary>
    public const uint Base = 0xFC00_0000;

    /// <summary>The first page-directory index the region occupies (1008); it runs to 1023.</summary>
    public const int FirstDirectoryIndex = (int)(Base >> 22);

    /// <summary>True if a linear address lies in the region.</summary>
    public static bool Contains(uint linear) => linear >= Base;

    /// <summary>
    /// The exception a guest access into the region gets: the page fault its own tables give there (what bare metal
    /// does, since the guest maps nothing there), or #GP(0) when the guest does map the address (the VMM keeps it).
    /// </summary>
    public static GuestFault GuestFaultFor(GuestAddressSpace memory, uint linear, MemoryAccess access, bool user)
    {
        var t = memory.Translate(linear, access, user, setAccessedDirty: false);
        return t.Status == GuestTranslationStatus.PageFault ? new GuestFault(Vectors.PF, t.ErrorCode, linear) : new GuestFault(Vectors.GP, 0);
    }

    /// <summary>
    /// A code or data descriptor changed so that the segment ends below the region: an expand-up segment gets a lower
    /// limit (one that starts inside the region keeps no byte and is marked not present); an expand-down segment,
    /// which always covers the top of its range, is marked not present when that range reaches the region. Other
    /// descriptors are returned as they are.
    /// </summary>
    public static (uint Low, uint High) Truncate(uint low, uint high)
    {
        const uint NotPresent = ~0x8000u;
        if ((high & 0x1000) == 0) return (low, high);
        uint segmentBase = (low >> 16) | ((high & 0xFF) << 16) | (high & 0xFF00_0000);
        bool expandDown = (high & 0x0C00) == 0x0400;
        if (expandDown)
        {
            ulong top = (ulong)segmentBase + ((high & 0x0040_0000) != 0 ? 0xFFFF_FFFFu : 0xFFFFu);
            return top < Base ? (low, high) : (low, high & NotPresent);
        }
        bool pages = (high & 0x0080_0000) != 0;
        uint limit = (low & 0xFFFF) | (high & 0x000F_0000);
        ulong end = (ulong)segmentBase + (pages ? ((ulong)limit << 12) | 0xFFF : limit);
        if (end < Base) return (low, high);
        // Page granularity keeps the low 12 bits of the limit at one, so the new limit ends on a page boundary.
        ulong allowed = segmentBase < Base ? Base - segmentBase : 0;
        uint newLimit;
        if (allowed >= 0x0010_0000) { newLimit = (uint)(allowed >> 12) - 1; high |= 0x0080_0000; }
        else if (allowed > 0) { newLimit = (uint)allowed - 1; high &= ~0x0080_0000u; }
        else { newLimit = 0; high &= ~0x0080_0000u & NotPresent; } // nothing left
        low = (low & 0xFFFF_0000) | (newLimit & 0xFFFF);
        high = (high & ~0x000F_0000u) | (newLimit & 0x000F_0000);
        return (low, high);
    }
}
