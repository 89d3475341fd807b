using VirtBench.Machine;
using VirtBench.Machine.Memory;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

/// <summary>Who a machine frame belongs to.</summary>
internal enum FrameOwner : byte
{
    /// <summary>Not memory (past the end of machine memory).</summary>
    None,
    /// <summary>The guest domain's: it may map the frame.</summary>
    Guest,
    /// <summary>The hypervisor's own: the guest may never map it.</summary>
    Hypervisor,
    /// <summary>The hypervisor's, shared with the guest (the shared-info page): mappable, never a page table.</summary>
    Shared,
}

/// <summary>What a guest frame is used as, while its type count is non-zero.</summary>
internal enum PageType : byte
{
    /// <summary>Nothing in particular: no writable mapping and not a page table.</summary>
    None,
    /// <summary>Mapped writable by the count's number of validated page-table entries.</summary>
    Writable,
    /// <summary>A page table (4 KiB pages).</summary>
    L1,
    /// <summary>A page directory.</summary>
    L2,
}

/// <summary>
/// Xen's frame table: the owner of every machine frame, and for the guest's frames a type with a reference count
/// (how many validated entries map it writable, or how many directories, pins and base pointers use it as a page
/// table). The invariants it keeps are what make the guest's own page tables safe for the MMU to walk: a guest
/// maps only frames it owns (and the shared page), and a page table or directory is never mapped writable. A page
/// becomes a page table only after every entry in it has been validated, and stops being one by releasing them.
/// </summary>
/// <remarks>
/// A page whose last writable mapping went away may still be writable through a stale TLB entry; when such a page
/// becomes a page table before any full flush, the whole TLB is flushed first, as Xen does with its flush
/// timestamps. Failed operations leave every count and every entry as they were.
/// </remarks>
internal sealed class FrameTable
{
    private const uint Present = 1, Writable = 2, LargePage = 0x80;
    private const uint AccessedDirty = 0x60;

    /// <summary>Directory slots the guest owns; the rest (linear 0xFC000000 and up) are the hypervisor's.</summary>
    public const int GuestSlots = (int)(HypervisorBase >> 22);

    private readonly PhysicalMemory _memory;
    private readonly Counters _counters;
    private readonly Mmu _mmu;
    private readonly FrameOwner[] _owner;
    private readonly PageType[] _type;
    private readonly int[] _count;
    private readonly bool[] _pinned;
    private readonly ulong[] _staleUntilFlush;
    private readonly uint[] _hypervisorSlots = new uint[1024 - GuestSlots];

    /// <summary>A table for every frame of machine memory, all owned by nobody.</summary>
    public FrameTable(PhysicalMemory memory, Counters counters, Mmu mmu)
    {
        _memory = memory;
        _counters = counters;
        _mmu = mmu;
        int frames = (int)(memory.Size >> 12);
        _owner = new FrameOwner[frames];
        _type = new PageType[frames];
        _count = new int[frames];
        _pinned = new bool[frames];
        _staleUntilFlush = new ulong[frames];
    }

    /// <summary>When false, validation work is not counted (the domain builder's own page tables).</summary>
    public bool Counting { get; set; } = true;

    /// <summary>The owner of a frame (<see cref="FrameOwner.None"/> past the end of memory).</summary>
    public FrameOwner OwnerOf(uint frame) => frame < (uint)_owner.Length ? _owner[frame] : FrameOwner.None;

    /// <summary>Gives a frame to an owner (the domain builder).</summary>
    public void SetOwner(uint frame, FrameOwner owner) => _owner[frame] = owner;

    /// <summary>The frame's current type (<see cref="PageType.None"/> when its count is zero).</summary>
    public PageType TypeOf(uint frame) => _type[frame];

    /// <summary>The frame's type count.</summary>
    public int TypeCount(uint frame) => _count[frame];

    /// <summary>True if the frame is pinned as a page table or directory.</summary>
    public bool IsPinned(uint frame) => _pinned[frame];

    /// <summary>Every frame's type, type count and pin (for diagnostics and tests).</summary>
    public (PageType Type, int Count, bool Pinned)[] Snapshot() =>
        Enumerable.Range(0, _type.Length).Select(f => (_type[f], _count[f], _pinned[f])).ToArray();

    /// <summary>Sets the directory entry installed in a hypervisor slot of every page directory (slot index from 0xFC000000).</summary>
    public void SetHypervisorSlot(int index, uint entry) => _hypervisorSlots[index] = entry;

    // ---- Types ----

    /// <summary>
    /// Takes a page-table reference of a type: the first one validates every entry of the page (and fills the
    /// hypervisor slots of a directory). 0, or a negative errno with nothing changed.
    /// </summary>
    public int GetType(uint frame, PageType type)
    {
        if (OwnerOf(frame) != FrameOwner.Guest) return -Error.EPERM;
        if (_count[frame] > 0)
        {
            if (_type[frame] != type) return -Error.EINVAL;
            _count[frame]++;
            return 0;
        }
        if (_type[frame] != PageType.None) return -Error.EINVAL;   // being validated further up: a loop of tables
        _type[frame] = type;
        int rc = type == PageType.L1 ? ValidateTable(frame) : ValidateDirectory(frame);
        if (rc != 0)
        {
            _type[frame] = PageType.None;
            return rc;
        }
        if (_staleUntilFlush[frame] == FlushEpoch + 1) _mmu.FlushAll();
        _count[frame] = 1;
        if (type == PageType.L2) WriteHypervisorSlots(frame, clear: false);
        return 0;
    }

    /// <summary>Drops a page-table reference; the last one releases every entry's references.</summary>
    public void PutType(uint frame)
    {
        if (--_count[frame] > 0) return;
        if (_type[frame] == PageType.L1) ReleaseEntries(frame, 1024, PutTableEntry);
        else
        {
            ReleaseEntries(frame, GuestSlots, PutDirectoryEntry);
            WriteHypervisorSlots(frame, clear: true);
        }
        _type[frame] = PageType.None;
    }

    /// <summary>Pins a frame as a page table or directory (mmuext_op PIN_L1/L2_TABLE).</summary>
    public int Pin(uint frame, PageType type)
    {
        if (OwnerOf(frame) != FrameOwner.Guest) return -Error.EPERM;
        if (_pinned[frame]) return -Error.EINVAL;
        int rc = GetType(frame, type);
        if (rc == 0) _pinned[frame] = true;
        return rc;
    }

    /// <summary>Releases a pin (mmuext_op UNPIN_TABLE).</summary>
    public int Unpin(uint frame)
    {
        if (OwnerOf(frame) != FrameOwner.Guest) return -Error.EPERM;
        if (!_pinned[frame]) return -Error.EINVAL;
        _pinned[frame] = false;
        PutType(frame);
        return 0;
    }

    // ---- Entries ----

    /// <summary>
    /// One mmu_update request: writes the entry at a machine address. In a page table or directory the new entry
    /// is validated and the old one released; elsewhere (a page that is not a page table) it is a plain write.
    /// </summary>
    public int UpdateEntry(uint machineAddress, uint value, bool preserveAccessedDirty)
    {
        uint frame = machineAddress >> 12;
        if (OwnerOf(frame) != FrameOwner.Guest) return -Error.EPERM;
        if ((machineAddress & 3) != 0) return -Error.EINVAL;
        uint old = _memory.Read32(machineAddress);
        if (preserveAccessedDirty) value = (value & ~AccessedDirty) | (old & AccessedDirty);
        if (_count[frame] == 0 || _type[frame] == PageType.Writable)
        {
            _memory.Write32(machineAddress, value);
            return 0;
        }
        bool directory = _type[frame] == PageType.L2;
        if (directory && (machineAddress & 0xFFF) >> 2 >= GuestSlots) return -Error.EINVAL;
        if ((value & Present) != 0)
        {
            int rc = directory ? GetDirectoryEntry(value) : GetTableEntry(value);
            if (rc != 0) return rc;
        }
        _memory.Write32(machineAddress, value);
        if ((old & Present) != 0)
        {
            if (directory) PutDirectoryEntry(old);
            else PutTableEntry(old);
        }
        return 0;
    }

    /// <summary>References of a present page-table entry: a mappable frame, taken writable if the entry is.</summary>
    private int GetTableEntry(uint pte)
    {
        if ((pte & LargePage) != 0) return -Error.EINVAL;   // PAT: not offered to guests
        uint frame = pte >> 12;
        var owner = OwnerOf(frame);
        if (owner is not (FrameOwner.Guest or FrameOwner.Shared)) return -Error.EPERM;
        if ((pte & Writable) == 0 || owner == FrameOwner.Shared) return 0;
        if (_type[frame] is PageType.L1 or PageType.L2) return -Error.EINVAL;
        _type[frame] = PageType.Writable;
        _count[frame]++;
        return 0;
    }

    private void PutTableEntry(uint pte)
    {
        uint frame = pte >> 12;
        if ((pte & Writable) == 0 || OwnerOf(frame) != FrameOwner.Guest) return;
        if (--_count[frame] > 0) return;
        _type[frame] = PageType.None;
        _staleUntilFlush[frame] = FlushEpoch + 1;
    }

    /// <summary>References of a present directory entry: a guest frame that is (or validates as) a page table.</summary>
    private int GetDirectoryEntry(uint pde)
    {
        if ((pde & LargePage) != 0) return -Error.EINVAL;
        return GetType(pde >> 12, PageType.L1);
    }

    private void PutDirectoryEntry(uint pde) => PutType(pde >> 12);

    private int ValidateTable(uint frame) => ValidateEntries(frame, 1024, GetTableEntry, PutTableEntry);

    private int ValidateDirectory(uint frame) => ValidateEntries(frame, GuestSlots, GetDirectoryEntry, PutDirectoryEntry);

    private int ValidateEntries(uint frame, int slots, Func<uint, int> get, Action<uint> put)
    {
        uint base_ = frame << 12;
        for (int i = 0; i < slots; i++)
        {
            uint entry = _memory.Read32(base_ + (uint)i * 4);
            if ((entry & Present) == 0) continue;
            Count();
            int rc = get(entry);
            if (rc == 0) continue;
            for (int j = 0; j < i; j++)
            {
                uint done = _memory.Read32(base_ + (uint)j * 4);
                if ((done & Present) != 0) put(done);
            }
            return rc;
        }
        return 0;
    }

    private void ReleaseEntries(uint frame, int slots, Action<uint> put)
    {
        uint base_ = frame << 12;
        for (int i = 0; i < slots; i++)
        {
            uint entry = _memory.Read32(base_ + (uint)i * 4);
            if ((entry & Present) == 0) continue;
            Count();
            put(entry);
        }
    }

    private void WriteHypervisorSlots(uint frame, bool clear)
    {
        uint base_ = (frame << 12) + GuestSlots * 4;
        for (int i = 0; i < _hypervisorSlots.Length; i++)
            _memory.Write32(base_ + (uint)i * 4, clear ? 0 : _hypervisorSlots[i]);
    }

    private void Count()
    {
        if (Counting) _counters.Add(Event.PageTableEntryValidated);
    }

    /// <summary>Full TLB flushes so far: a page's stale writable translations are gone once this has moved on.</summary>
    private ulong FlushEpoch => _counters[Event.TlbFlush];
}
