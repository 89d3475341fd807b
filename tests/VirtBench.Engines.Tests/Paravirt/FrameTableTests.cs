using VirtBench.Engines.Paravirt;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Tests.Paravirt;

/// <summary>The frame table's rules, driven directly on a booted (not yet running) test domain.</summary>
public sealed class FrameTableTests
{
    private const uint P = 1, W = 2;
    private const uint Table = 0x0300_0000, Data = 0x0300_1000, Other = 0x0300_2000, Directory = 0x0300_3000;

    private readonly TestDomain _domain = TestDomain.Boot(k => k.A.hlt());
    private FrameTable Frames => _domain.Hypervisor.Frames;
    private Machine.Memory.PhysicalMemory Memory => _domain.Pc.Memory;

    /// <summary>The bootstrap entry that maps a guest-physical address (identity).</summary>
    private static uint BootstrapEntry(uint address) => TestDomain.Layout.BootstrapDirectory + 4096 + (address >> 12) * 4;

    private int MakeReadOnly(uint address) => Frames.UpdateEntry(BootstrapEntry(address), address | P, preserveAccessedDirty: false);

    [Fact]
    public void A_page_becomes_a_page_table_only_without_writable_mappings_and_then_gets_none()
    {
        Assert.Equal((PageType.Writable, 1), (Frames.TypeOf(Table >> 12), Frames.TypeCount(Table >> 12)));
        Assert.Equal(-Error.EINVAL, Frames.Pin(Table >> 12, PageType.L1));
        Assert.Equal(0, MakeReadOnly(Table));
        Assert.Equal(0, Frames.Pin(Table >> 12, PageType.L1));
        Assert.Equal((PageType.L1, 1, true), (Frames.TypeOf(Table >> 12), Frames.TypeCount(Table >> 12), Frames.IsPinned(Table >> 12)));

        Assert.Equal(-Error.EINVAL, Frames.UpdateEntry(BootstrapEntry(Table), Table | P | W, false));
        Assert.Equal(Table | P, Memory.Read32(BootstrapEntry(Table)));
        Assert.Equal(0, Frames.UpdateEntry(BootstrapEntry(Other), Table | P, false));   // read-only elsewhere: fine

        Assert.Equal(0, Frames.Unpin(Table >> 12));
        Assert.Equal(-Error.EINVAL, Frames.Unpin(Table >> 12));
        Assert.Equal(0, Frames.UpdateEntry(BootstrapEntry(Table), Table | P | W, false));
        Assert.Equal((PageType.Writable, 1), (Frames.TypeOf(Table >> 12), Frames.TypeCount(Table >> 12)));
    }

    [Fact]
    public void Validation_takes_the_references_of_every_entry_and_release_gives_them_back()
    {
        Assert.Equal(0, MakeReadOnly(Table));
        Assert.Equal(0, MakeReadOnly(Directory));
        Memory.Write32(Table, Data | P | W);
        Memory.Write32(Table + 4, Other | P);
        Memory.Write32(Directory + 8, Table | P | W);
        ulong validated = _domain.Pc.Counters[Event.PageTableEntryValidated];

        Assert.Equal(0, Frames.Pin(Directory >> 12, PageType.L2));
        Assert.Equal((PageType.L1, 1), (Frames.TypeOf(Table >> 12), Frames.TypeCount(Table >> 12)));
        Assert.Equal(2, Frames.TypeCount(Data >> 12));      // the bootstrap mapping and the validated entry
        Assert.Equal(1, Frames.TypeCount(Other >> 12));     // read-only entries take no writable reference
        Assert.NotEqual(0u, Memory.Read32(Directory + FrameTable.GuestSlots * 4));   // the hypervisor's slot
        Assert.Equal(validated + 3, _domain.Pc.Counters[Event.PageTableEntryValidated]);

        // A page table cannot be pinned as a directory, nor the directory used as a page table.
        Assert.Equal(-Error.EINVAL, Frames.Pin(Table >> 12, PageType.L2));
        Assert.Equal(-Error.EINVAL, Frames.UpdateEntry(Directory + 12, Directory | P, false));

        Assert.Equal(0, Frames.Unpin(Directory >> 12));
        Assert.Equal((PageType.None, 0), (Frames.TypeOf(Table >> 12), Frames.TypeCount(Table >> 12)));
        Assert.Equal(1, Frames.TypeCount(Data >> 12));
        Assert.Equal(0u, Memory.Read32(Directory + FrameTable.GuestSlots * 4));
        Assert.Equal(validated + 6, _domain.Pc.Counters[Event.PageTableEntryValidated]);
    }

    [Fact]
    public void A_failed_validation_gives_back_what_it_took()
    {
        Assert.Equal(0, MakeReadOnly(Table));
        Memory.Write32(Table, Data | P | W);
        Memory.Write32(Table + 4, Other | P | W);
        Memory.Write32(Table + 8, 0xFFFF_F000 | P);                       // past the end of memory
        var before = Frames.Snapshot();
        Assert.Equal(-Error.EPERM, Frames.Pin(Table >> 12, PageType.L1));
        Assert.Equal(before, Frames.Snapshot());
    }

    [Fact]
    public void A_page_that_may_still_be_writable_in_the_tlb_is_flushed_before_it_becomes_a_page_table()
    {
        ulong flushes = _domain.Pc.Counters[Event.TlbFlush];
        Assert.Equal(0, MakeReadOnly(Table));
        Assert.Equal(0, Frames.Pin(Table >> 12, PageType.L1));
        Assert.Equal(flushes + 1, _domain.Pc.Counters[Event.TlbFlush]);
        Assert.Equal(0, Frames.Unpin(Table >> 12));
        Assert.Equal(0, Frames.Pin(Table >> 12, PageType.L1));           // no writable mapping went away since: no flush
        Assert.Equal(flushes + 1, _domain.Pc.Counters[Event.TlbFlush]);

        Assert.Equal(0, MakeReadOnly(Other));
        _domain.Pc.Cpu.Mmu.FlushAll();                                   // the guest flushed: nothing stale is left
        Assert.Equal(0, Frames.Pin(Other >> 12, PageType.L1));
        Assert.Equal(flushes + 2, _domain.Pc.Counters[Event.TlbFlush]);
    }

    [Fact]
    public void Only_the_guest_s_frames_can_be_typed_or_written_and_the_shared_page_is_mappable_but_never_a_table()
    {
        uint shared = TestDomain.Layout.SharedInfo;
        Assert.Equal(-Error.EPERM, Frames.Pin(TestDomain.Layout.Gdt >> 12, PageType.L1));
        Assert.Equal(-Error.EPERM, Frames.Pin(shared >> 12, PageType.L1));
        Assert.Equal(-Error.EPERM, Frames.UpdateEntry(TestDomain.Layout.Gdt, 0, false));
        Assert.Equal(-Error.EPERM, Frames.UpdateEntry(shared + SharedInfo.Cr2, 0, false));
        Assert.Equal(0, Frames.UpdateEntry(BootstrapEntry(Other), shared | P | W, false));
        Assert.Equal(FrameOwner.Shared, Frames.OwnerOf(shared >> 12));
        Assert.Equal(FrameOwner.None, Frames.OwnerOf(0xF_FFFF));
    }
}
