using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// Shadow page tables: the tables the MMU really walks while the guest believes it walks its own
/// (<see cref="Cpu.MonitorOwnsPageTableRoot"/>). One shadow directory per guest address space (guest CR3), kept
/// across switches; one shadow page table per guest page table, shared by every directory that links it. Shadows
/// start empty and fill on hidden faults; every guest page that some shadow follows is traced (write-protected in
/// every shadow mapping, found through a reverse map), so the guest's writes to its tables fault and are propagated
/// after the VMM emulates them (<see cref="GuestAddressSpace.Written"/>). Accessed and dirty bits go back to the
/// guest's entries: an entry is filled when first used (setting A), and mapped read-only until the first write when
/// D is clear. With the guest's paging off, a private "physical mode" shadow maps guest RAM one to one. User and
/// supervisor rights are the guest's own, which serves a guest kernel deprivileged to ring 1 (still supervisor) and
/// one at ring 0 under VT-x alike.
/// </summary>
/// <remarks>
/// The shadows only ever map guest RAM: a guest entry naming a frame beyond it is never followed (the access is a
/// guest page fault with P = 1, see <see cref="HandlePageFault"/>); the VMM's region appears only in the hypervisor
/// region's directory entries, which the guest's own entries never replace, and only when the VMM reserves that
/// region (<see cref="GuestAddressSpace.HypervisorRegionReserved"/>; under VT-x the guest's shadows cover all 4 GiB).
/// Counts: hidden faults, shadow updates (entries written), creates, switches, discards, and accessed/dirty bits
/// reflected.
/// </remarks>
public sealed class ShadowPageTables
{
    private const uint P = 1, W = 2, U = 4, A = 0x20, D = 0x40;

    /// <summary>Guest address spaces whose shadows are kept; the least recently used beyond this are discarded.</summary>
    public const int CachedDirectories = 64;

    private readonly Mmu _mmu;
    private readonly PhysicalMemory _memory;
    private readonly GuestAddressSpace _guest;
    private readonly VmmMemory _vmm;
    private readonly ulong[] _counts;
    private readonly ShadowTable?[] _tableOf;
    private readonly ShadowTable?[] _directoryOf;
    private readonly int[] _otherTraced;   // how many reasons trace each frame besides paging
    private readonly ReverseMap _reverse;
    private readonly List<ShadowTable> _directories = [];
    private readonly uint[] _hypervisorTables = new uint[1024 - HypervisorRegion.FirstDirectoryIndex];
    private readonly int _guestDirectoryEntries;
    private ShadowTable? _physical, _uncached, _current;
    private long _clock;

    /// <summary>Shadow paging for the guest address space <paramref name="guest"/>, in frames from <paramref name="vmm"/>.</summary>
    public ShadowPageTables(Cpu cpu, GuestAddressSpace guest, VmmMemory vmm)
    {
        _mmu = cpu.Mmu;
        _memory = guest.Memory;
        _guest = guest;
        _vmm = vmm;
        _counts = cpu.Counters.Raw;
        int frames = (int)(guest.Memory.GuestRamBytes >> 12);
        _tableOf = new ShadowTable?[frames];
        _directoryOf = new ShadowTable?[frames];
        _otherTraced = new int[frames];
        _reverse = new ReverseMap(frames);
        _guestDirectoryEntries = guest.HypervisorRegionReserved ? HypervisorRegion.FirstDirectoryIndex : 1024;
        LoadRoot = _mmu.SetRoot;
        guest.Written = GuestWritten;
    }

    /// <summary>
    /// How a shadow directory becomes the root the MMU walks (given its machine address). By default the VMM sets
    /// the MMU's root itself, as the owner of the real CR3; a VT-x VMM writes the VMCS's guest CR3 instead.
    /// </summary>
    public Action<uint> LoadRoot { get; set; }

    /// <summary>Called after a VMM write to a traced page that is not a page table (e.g. the guest's GDT): (guest-physical address, length).</summary>
    public Action<uint, int>? OtherTracedPageWritten { get; set; }

    /// <summary>Machine address of the shadow directory the MMU walks now.</summary>
    public uint CurrentRoot => _current?.Machine ?? 0;

    /// <summary>Points the MMU at the shadow of the guest's current paging state (its CR3, or physical mode).</summary>
    public void Activate()
    {
        if (!_guest.Paging)
        {
            if (_physical is null) _physical = NewDirectory(ShadowTable.NoFrame);
            else Count(Event.ShadowSwitch);
            SwitchTo(_physical);
            return;
        }
        uint frame = _guest.Root >> 12;
        if (frame >= (uint)_directoryOf.Length)
        {
            // A directory outside guest RAM: shadowed privately; every walk through it is a guest fault.
            if (_uncached is not null && _uncached != _current) DiscardDirectory(_uncached);
            SwitchTo(_uncached = NewDirectory(ShadowTable.NoFrame));
            return;
        }
        var directory = _directoryOf[frame];
        if (directory is not null) Count(Event.ShadowSwitch);
        else
        {
            directory = NewDirectory(frame);
            _directoryOf[frame] = directory;
            _directories.Add(directory);
            WriteProtect(frame);
            EvictDirectories();
        }
        SwitchTo(directory);
    }

    /// <summary>The guest loaded CR3: switches to the cached shadow of that address space, or builds one.</summary>
    public void LoadCr3()
    {
        if (_guest.Paging) Activate();
    }

    /// <summary>
    /// The guest changed how its tables are read (paging on or off, CR0.WP, CR4.PSE): every shadow is discarded
    /// and the current one rebuilt.
    /// </summary>
    public void Reset()
    {
        foreach (var directory in _directories.ToArray()) DiscardDirectory(directory);
        if (_physical is not null) DiscardDirectory(_physical);
        if (_uncached is not null) DiscardDirectory(_uncached);
        _current = null;
        Activate();
    }

    /// <summary>The guest's invlpg: the shadows follow the guest's tables already, so only the real TLB entry goes.</summary>
    public void InvalidatePage(uint linear) => _mmu.FlushPage(linear);

    /// <summary>
    /// Resolves a page fault the MMU raised on the shadow (<paramref name="errorCode"/>: P, W/R, U/S) against the
    /// guest's own tables. A guest entry naming a frame outside guest RAM gives the guest a page fault with P = 1:
    /// the VMM refuses to map the frame, as if the guest's entry denied the access.
    /// </summary>
    public ShadowFault HandlePageFault(uint linear, uint errorCode)
    {
        if (_guest.InHypervisorRegion(linear)) return new ShadowFault(ShadowFaultKind.HypervisorRegion);
        bool write = (errorCode & W) != 0, user = (errorCode & U) != 0;
        var t = _guest.Translate(linear, write ? MemoryAccess.Write : MemoryAccess.Read, user);
        if (t.Status == GuestTranslationStatus.PageFault) return new ShadowFault(ShadowFaultKind.Guest, t.ErrorCode);
        if (t.Status == GuestTranslationStatus.OutsideGuestRam) return new ShadowFault(ShadowFaultKind.Guest, P | (errorCode & (W | U)));
        _counts[(int)Event.AccessedDirtyReflected] += (ulong)t.AccessedDirtyUpdates;
        uint frame = t.Physical >> 12;
        if (write && IsTracedFrame(frame)) return new ShadowFault(ShadowFaultKind.TracedWrite, Physical: t.Physical);
        if (write && !t.Writable) return new ShadowFault(ShadowFaultKind.WriteNeedsEmulation, Physical: t.Physical);
        Fill(linear, t);
        Count(Event.HiddenPageFault);
        return new ShadowFault(ShadowFaultKind.Hidden);
    }

    /// <summary>True if some shadow traces the guest page holding <paramref name="physical"/> (writes to it fault).</summary>
    public bool IsTraced(uint physical) => IsTracedFrame(physical >> 12);

    /// <summary>
    /// Stops following the guest page at <paramref name="physical"/> because it no longer is a page table (the guest
    /// freed it and reuses it): its shadows are discarded and its writes stop faulting. False if its writes still
    /// fault: it is the directory of the current address space (then nothing is done), or it is traced for another
    /// reason (<see cref="TraceOther"/>).
    /// </summary>
    public bool Unshadow(uint physical)
    {
        uint frame = physical >> 12;
        if (frame >= (uint)_tableOf.Length) return true;
        if (_directoryOf[frame] is { } directory)
        {
            if (directory == _current) return false;
            DiscardDirectory(directory);
        }
        if (_tableOf[frame] is { } table) DiscardTable(table);
        return _otherTraced[frame] == 0;
    }

    /// <summary>
    /// Traces a guest page for another reason than paging (e.g. it holds the guest's GDT, or code a binary translator
    /// translated): see <see cref="OtherTracedPageWritten"/>. Reasons add up: each call needs its <see cref="UntraceOther"/>.
    /// </summary>
    public void TraceOther(uint physical)
    {
        uint frame = physical >> 12;
        if (frame >= (uint)_otherTraced.Length) return;
        if (_otherTraced[frame]++ == 0) WriteProtect(frame);
    }

    /// <summary>Undoes one <see cref="TraceOther"/> (when none is left, its mappings become writable again at their next write fault).</summary>
    public void UntraceOther(uint physical)
    {
        uint frame = physical >> 12;
        if (frame < (uint)_otherTraced.Length && _otherTraced[frame] > 0) _otherTraced[frame]--;
    }

    /// <summary>True if the guest page holding <paramref name="physical"/> is traced because some shadow follows it as a page table or directory.</summary>
    public bool IsPageTable(uint physical)
    {
        uint frame = physical >> 12;
        return frame < (uint)_tableOf.Length && (_tableOf[frame] is not null || _directoryOf[frame] is not null);
    }

    /// <summary>Maps a page of VMM memory at a linear address in the hypervisor region, supervisor-only, in every shadow.</summary>
    public void MapHypervisorPage(uint linear, uint machineAddress, bool writable)
    {
        if (!_guest.InHypervisorRegion(linear)) throw new ArgumentOutOfRangeException(nameof(linear), $"0x{linear:x8} is not in a hypervisor region this VMM reserves");
        int slot = (int)(linear >> 22) - HypervisorRegion.FirstDirectoryIndex;
        if (_hypervisorTables[slot] == 0)
        {
            _hypervisorTables[slot] = _vmm.Allocate(4096);
            foreach (var directory in AllDirectories()) WriteHypervisorEntries(directory);
        }
        _memory.Write32(_hypervisorTables[slot] + ((linear >> 12) & 0x3FF) * 4, (machineAddress & ~0xFFFu) | P | (writable ? W : 0));
        _mmu.FlushPage(linear);
    }

    // ---- Filling ----

    private void Fill(uint linear, in GuestTranslation t)
    {
        var directory = _current!;
        int index = (int)(linear >> 22);
        var table = directory.Children![index] ?? TableFor(directory, index, t);
        SetEntry(table, (int)((linear >> 12) & 0x3FF), ShadowEntry(t.Physical >> 12, t.Pte));
    }

    /// <summary>Links the shadow of the page table a guest directory entry names (4 KiB pages), or a private one.</summary>
    private ShadowTable TableFor(ShadowTable directory, int index, in GuestTranslation t)
    {
        ShadowTable? table;
        uint flags;
        if (!_guest.Paging || t.PteAddress == 0)
        {
            table = NewTable(ShadowTable.NoFrame);   // physical mode, or a 4 MiB guest page
            flags = _guest.Paging ? P | (t.Pde & (W | U)) : P | W | U;
        }
        else
        {
            uint frame = t.Pde >> 12;
            table = _tableOf[frame];
            if (table is null)
            {
                table = _tableOf[frame] = NewTable(frame);
                WriteProtect(frame);
            }
            flags = P | (t.Pde & (W | U));
        }
        _memory.Write32(directory.Machine + (uint)index * 4, table.Machine | flags);
        directory.Children![index] = table;
        table.Parents.Add((directory, index));
        Count(Event.ShadowUpdate);
        return table;
    }

    /// <summary>
    /// The shadow entry for a guest entry mapping <paramref name="frame"/>: writable only if the guest's entry is
    /// writable and already dirty (so the first write faults and sets D) and the frame is not traced.
    /// </summary>
    private uint ShadowEntry(uint frame, uint guestEntry)
    {
        bool writable = (guestEntry & (W | D)) == (W | D) && !IsTracedFrame(frame);
        return (frame << 12) | P | (guestEntry & U) | (writable ? W : 0);
    }

    /// <summary>Writes a shadow page-table entry, keeping the reverse map and the TLB right.</summary>
    private void SetEntry(ShadowTable table, int index, uint value)
    {
        uint at = table.Machine + (uint)index * 4;
        uint old = _memory.Read32(at);
        if ((old & ~(A | D)) == value) return;
        bool sameFrame = (old & P) != 0 && (value & P) != 0 && (old ^ value) >> 12 == 0;
        if ((old & P) != 0 && !sameFrame) _reverse.Remove(old >> 12, table, index);
        _memory.Write32(at, value);
        if ((value & P) != 0 && !sameFrame) _reverse.Add(value >> 12, table, index);
        Count(Event.ShadowUpdate);
        // Adding rights needs no flush (the MMU re-walks before faulting); taking any away does.
        bool narrower = (old & P) != 0 && ((value & P) == 0 || (old ^ value) >> 12 != 0 || (old & ~value & (W | U)) != 0);
        if (narrower) FlushEntry(table, index);
    }

    private void FlushEntry(ShadowTable table, int index)
    {
        foreach (var (directory, slot) in table.Parents)
            if (directory == _current) _mmu.FlushPage(((uint)slot << 22) | ((uint)index << 12));
    }

    // ---- Tracing ----

    private bool IsTracedFrame(uint frame) =>
        frame < (uint)_tableOf.Length && (_tableOf[frame] is not null || _directoryOf[frame] is not null || _otherTraced[frame] != 0);

    /// <summary>Takes write permission away from every shadow entry that maps the frame.</summary>
    private void WriteProtect(uint frame)
    {
        for (int node = _reverse.First(frame); node >= 0; node = _reverse.Next(node))
        {
            var (table, index) = _reverse.At(node);
            uint entry = _memory.Read32(table.Machine + (uint)index * 4);
            if ((entry & W) != 0) SetEntry(table, index, entry & ~(W | A | D));
        }
    }

    /// <summary>Follows a VMM write into guest memory: propagates it to the shadows of a traced page.</summary>
    private void GuestWritten(uint physical, int length)
    {
        uint frame = physical >> 12;
        if (frame >= (uint)_tableOf.Length) return;
        int first = (int)(physical & 0xFFF) >> 2, last = (int)((physical & 0xFFF) + (uint)length - 1) >> 2;
        if (_tableOf[frame] is { } table)
            for (int i = first; i <= last; i++) Propagate(table, i);
        if (_directoryOf[frame] is { } directory)
            for (int i = first; i <= last && i < _guestDirectoryEntries; i++)
                if (directory.Children![i] is not null)
                {
                    Unlink(directory, i);   // relinked by the next hidden fault in that 4 MiB
                    Count(Event.ShadowUpdate);
                }
        if (_otherTraced[frame] != 0) OtherTracedPageWritten?.Invoke(physical, length);
    }

    /// <summary>
    /// Brings one shadow entry in line with the guest entry just written. Entries the guest has not used yet
    /// (A clear) are not prefetched, as KVM does not: their first use is a hidden fault that sets A.
    /// </summary>
    private void Propagate(ShadowTable table, int index)
    {
        uint guest = _memory.Read32((table.GuestFrame << 12) + (uint)index * 4);
        bool usable = (guest & (P | A)) == (P | A) && _guest.IsGuestRam(guest & ~0xFFFu);
        SetEntry(table, index, usable ? ShadowEntry(guest >> 12, guest) : 0);
    }

    // ---- Tables ----

    private ShadowTable NewDirectory(uint guestFrame)
    {
        var directory = NewTable(guestFrame, isDirectory: true);
        WriteHypervisorEntries(directory);
        Count(Event.ShadowCreate);
        return directory;
    }

    private ShadowTable NewTable(uint guestFrame, bool isDirectory = false)
    {
        if (!_vmm.TryAllocateFrame(out uint machine))
        {
            // Out of shadow frames: drop every address space but the current one and try again. One address space
            // needs at most 1 + 1024 frames, which the VMM region always has.
            foreach (var directory in _directories.ToArray())
                if (directory != _current) DiscardDirectory(directory);
            if (!_vmm.TryAllocateFrame(out machine))
                throw new InvalidOperationException("VMM memory exhausted: no frame left for a shadow page table");
        }
        return new ShadowTable(machine, guestFrame, isDirectory);
    }

    private void WriteHypervisorEntries(ShadowTable directory)
    {
        for (int slot = 0; slot < _hypervisorTables.Length; slot++)
            if (_hypervisorTables[slot] != 0)
                _memory.Write32(directory.Machine + (uint)(HypervisorRegion.FirstDirectoryIndex + slot) * 4, _hypervisorTables[slot] | P | W);
    }

    private IEnumerable<ShadowTable> AllDirectories()
    {
        foreach (var directory in _directories) yield return directory;
        if (_physical is not null) yield return _physical;
        if (_uncached is not null) yield return _uncached;
    }

    private void SwitchTo(ShadowTable directory)
    {
        _current = directory;
        directory.LastUse = ++_clock;
        LoadRoot(directory.Machine);
    }

    private void EvictDirectories()
    {
        while (_directories.Count > CachedDirectories)
        {
            ShadowTable? oldest = null;
            foreach (var directory in _directories)
                if (directory != _current && (oldest is null || directory.LastUse < oldest.LastUse)) oldest = directory;
            if (oldest is null) return;
            DiscardDirectory(oldest);
        }
    }

    /// <summary>Clears a directory entry; a page table no directory links any more is discarded.</summary>
    private void Unlink(ShadowTable directory, int index, bool flush = true)
    {
        var table = directory.Children![index];
        if (table is null) return;
        _memory.Write32(directory.Machine + (uint)index * 4, 0);
        directory.Children[index] = null;
        table.Parents.Remove((directory, index));
        if (flush && directory == _current) _mmu.FlushAll();
        if (table.Parents.Count == 0) DiscardTable(table);
    }

    private void DiscardTable(ShadowTable table)
    {
        foreach (var (directory, index) in table.Parents)
        {
            _memory.Write32(directory.Machine + (uint)index * 4, 0);
            directory.Children![index] = null;
            if (directory == _current) _mmu.FlushAll();
        }
        table.Parents.Clear();
        for (int i = 0; i < 1024; i++)
        {
            uint entry = _memory.Read32(table.Machine + (uint)i * 4);
            if ((entry & P) != 0) _reverse.Remove(entry >> 12, table, i);
        }
        if (table.GuestFrame != ShadowTable.NoFrame) _tableOf[table.GuestFrame] = null;
        _vmm.FreeFrame(table.Machine);
        Count(Event.ShadowDiscard);
    }

    private void DiscardDirectory(ShadowTable directory)
    {
        for (int i = 0; i < _guestDirectoryEntries; i++)
            if (directory.Children![i] is not null) Unlink(directory, i, flush: false);
        if (directory == _current) _mmu.FlushAll();
        if (directory.GuestFrame != ShadowTable.NoFrame)
        {
            _directoryOf[directory.GuestFrame] = null;
            _directories.Remove(directory);
        }
        if (directory == _physical) _physical = null;
        if (directory == _uncached) _uncached = null;
        _vmm.FreeFrame(directory.Machine);
        Count(Event.ShadowDiscard);
    }

    private void Count(Event e) => _counts[(int)e]++;
}
