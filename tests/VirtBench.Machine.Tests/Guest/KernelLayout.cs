namespace VirtBench.Machine.Tests.Guest;

/// <summary>
/// Fixed addresses and selectors of <see cref="TestKernel"/>. Everything lies in the first 4 MiB (one page
/// table identity-maps it), above the image (which must end below <see cref="GuestProgram.ImageLimit"/>).
/// </summary>
internal static class KernelLayout
{
    /// <summary>Top of the ring-0 stack (TSS.ESP0 too).</summary>
    public const uint KernelStackTop = 0x001F_F000;

    /// <summary>The page directory and the page table that maps 0-4 MiB.</summary>
    public const uint PageDirectory = 0x0020_0000, PageTable = 0x0020_1000;

    /// <summary>Pages for ring-3 code, data and stack (user-accessible when paging is on).</summary>
    public const uint UserCode = 0x0021_0000, UserData = 0x0021_1000, UserStackTop = 0x0021_3000;

    /// <summary>Memory the differential sequences work on.</summary>
    public const uint Scratch = 0x0022_0000;

    /// <summary>Free pages for paging tests.</summary>
    public const uint TestPages = 0x0030_0000;

    /// <summary>Bytes the identity map covers.</summary>
    public const uint MappedBytes = 4u << 20;

    /// <summary>GDT selectors (RPL included for the ring-3 ones).</summary>
    public const ushort KernelCode = 0x08, KernelData = 0x10, UserCode32 = 0x1B, UserData32 = 0x23, Tss = 0x28;

    /// <summary>Extra descriptors for protection tests: a read-only data segment (DPL 0), a data segment with
    /// base <see cref="Scratch"/> and limit 0xFFF, a not-present data segment, and an execute-only code segment.</summary>
    public const ushort ReadOnlyData = 0x30, SmallData = 0x38, NotPresentData = 0x40, ExecuteOnlyCode = 0x48;

    /// <summary>GDT limit (last byte of the last descriptor).</summary>
    public const ushort GdtLimit = 0x4F;

    /// <summary>The page-table entry that maps a linear address below <see cref="MappedBytes"/>.</summary>
    public static uint PteAddress(uint linear) => PageTable + (linear >> 12) * 4;

    /// <summary>Page-table entry bits.</summary>
    public const uint Present = 1, Writable = 2, User = 4, Accessed = 0x20, Dirty = 0x40;
}
