using System.Runtime.CompilerServices;

namespace VirtBench.Machine.Memory;

/// <summary>
/// The paging unit: 2-level 32-bit paging (4 KiB pages, optional 4 MiB pages with CR4.PSE), U/S, R/W, P,
/// accessed and dirty bits, CR0.WP, a modeled TLB that counts misses and walk references, and the
/// engine seams of DESIGN.md section 4: the table root it walks is replaceable (guest tables natively,
/// shadow tables under a VMM), and with <see cref="NestedRoot"/> set every guest-physical address is itself
/// translated through nested tables (a two-dimensional walk, counted separately).
/// </summary>
public sealed class Mmu
{
    private const uint Present = 1, Writable = 2, UserBit = 4, Accessed = 0x20, DirtyBit = 0x40, LargePage = 0x80;

    private readonly PhysicalMemory _memory;
    private readonly ulong[] _counts;
    private readonly Tlb _tlb;
    internal readonly FastTlb FastUser = new(), FastSupervisor = new();

    internal Mmu(PhysicalMemory memory, Counters counters, int tlbEntries)
    {
        _memory = memory;
        _counts = counters.Raw;
        _tlb = new Tlb(tlbEntries);
    }

    /// <summary>CR0.PG: paging on.</summary>
    public bool PagingEnabled { get; private set; }

    /// <summary>CR0.WP: supervisor writes honour read-only pages.</summary>
    public bool WriteProtect { get; private set; }

    /// <summary>CR4.PSE: 4 MiB pages allowed in page directories.</summary>
    public bool PageSizeExtensions { get; private set; }

    /// <summary>Machine address of the page directory the MMU walks (the guest's CR3, or a VMM's shadow).</summary>
    public uint Root { get; private set; }

    /// <summary>Machine address of the nested page directory, or null when nested paging is off.</summary>
    public uint? NestedRoot { get; private set; }

    /// <summary>Error code of the last <see cref="TranslateStatus.PageFault"/>.</summary>
    public uint FaultErrorCode { get; private set; }

    /// <summary>The last <see cref="TranslateStatus.NestedFault"/>: what the nested tables did not allow.</summary>
    public NestedFault LastNestedFault { get; private set; }

    /// <summary>
    /// Bumped whenever a translation may have changed or left the TLB (flushes, evictions) and by the CPU when
    /// its privilege or fetch source changes: chained blocks are followed only within one epoch.
    /// </summary>
    internal int Epoch;

    /// <summary>Number of modeled TLB entries.</summary>
    public int TlbCapacity => _tlb.Capacity;

    /// <summary>Sets the paging controls (from CR0/CR4 writes); flushes the TLB when anything changes.</summary>
    public void SetControls(bool paging, bool writeProtect, bool pse)
    {
        if (paging == PagingEnabled && writeProtect == WriteProtect && pse == PageSizeExtensions) return;
        PagingEnabled = paging;
        WriteProtect = writeProtect;
        PageSizeExtensions = pse;
        FlushAll();
    }

    /// <summary>Points the MMU at a page directory and flushes the TLB (a CR3 load).</summary>
    public void SetRoot(uint pageDirectory)
    {
        Root = pageDirectory & ~0xFFFu;
        FlushAll();
    }

    /// <summary>
    /// Turns nested paging on (with the nested page directory) or off (null); flushes the TLB. A VM entry does
    /// this from the VMCS's EPT controls.
    /// </summary>
    internal void SetNestedRoot(uint? nestedDirectory)
    {
        NestedRoot = nestedDirectory & ~0xFFFu;
        FlushAll();
    }

    /// <summary>Flushes every translation (counted as <see cref="Event.TlbFlush"/>).</summary>
    public void FlushAll()
    {
        _counts[(int)Event.TlbFlush]++;
        Epoch++;
        _tlb.FlushAll();
        FastUser.Clear();
        FastSupervisor.Clear();
    }

    /// <summary>Flushes the translation of one linear page (counted as <see cref="Event.TlbFlushPage"/>).</summary>
    public void FlushPage(uint linear)
    {
        _counts[(int)Event.TlbFlushPage]++;
        Epoch++;
        uint vpn = linear >> 12;
        _tlb.FlushPage(vpn);
        FastUser.Drop(vpn);
        FastSupervisor.Drop(vpn);
    }

    /// <summary>A frame now holds decoded code: no fast entry may keep writing it.</summary>
    internal void RevokeFastWrites(uint frame)
    {
        FastUser.RevokeWrites(frame);
        FastSupervisor.RevokeWrites(frame);
    }

    /// <summary>
    /// Translates a linear address for an access by the given privilege class, walking and filling the TLB
    /// on a miss and setting accessed/dirty bits. On success, fills the fast lookup of that class.
    /// </summary>
    public TranslateStatus Translate(uint linear, MemoryAccess access, bool user, out uint machineAddress)
    {
        uint vpn = linear >> 12;
        bool write = access == MemoryAccess.Write;
        int index = _tlb.Find(vpn);
        if (index < 0)
        {
            var status = Walk(linear, access, user, out var entry);
            if (status != TranslateStatus.Ok) { machineAddress = 0; return status; }
            uint evicted = _tlb.Insert(entry, out index);
            if (evicted != Tlb.Invalid) { FastUser.Drop(evicted); FastSupervisor.Drop(evicted); Epoch++; }
        }
        ref var e = ref _tlb[index];
        if (!Permitted(in e, write, user))
        {
            // A TLB hit that fails its permission check: re-walk (the entry may be stale), as QEMU does before faulting.
            Epoch++;
            _tlb.FlushPage(vpn);
            FastUser.Drop(vpn); FastSupervisor.Drop(vpn);
            return Translate(linear, access, user, out machineAddress);
        }
        if (write && !e.Dirty)
        {
            if (e.PteAddress != 0 || PagingEnabled) SetDirty(ref e);
            e.Dirty = true;
        }
        machineAddress = (e.Frame << 12) | (linear & 0xFFF);
        if ((ulong)(e.Frame << 12) + 4096 > _memory.Size) return TranslateStatus.OpenBus;
        Fill(user ? FastUser : FastSupervisor, vpn, in e, user);
        return TranslateStatus.Ok;
    }

    /// <summary>Translates without faulting, filling or counting (for debuggers and VMM diagnostics).</summary>
    public bool TryPeek(uint linear, out uint machineAddress)
    {
        machineAddress = linear;
        if (!PagingEnabled) return NestedRoot is null || PeekNested(linear, out machineAddress);
        uint pde = _memory.Read32(Root + (linear >> 22) * 4);
        if ((pde & Present) == 0) return false;
        uint pte;
        if ((pde & LargePage) != 0 && PageSizeExtensions) pte = (pde & 0xFFC0_0000) | (linear & 0x003F_F000) | Present;
        else
        {
            uint ptAddr = (pde & ~0xFFFu) + ((linear >> 12) & 0x3FF) * 4;
            if (NestedRoot is not null && !PeekNested(ptAddr, out ptAddr)) return false;
            pte = _memory.Read32(ptAddr);
        }
        if ((pte & Present) == 0) return false;
        machineAddress = (pte & ~0xFFFu) | (linear & 0xFFF);
        return NestedRoot is null || PeekNested(machineAddress, out machineAddress);
    }

    private bool PeekNested(uint gpa, out uint machine)
    {
        machine = 0;
        uint npde = _memory.Read32(NestedRoot!.Value + (gpa >> 22) * 4);
        if ((npde & Present) == 0) return false;
        uint npte = _memory.Read32((npde & ~0xFFFu) + ((gpa >> 12) & 0x3FF) * 4);
        if ((npte & Present) == 0) return false;
        machine = (npte & ~0xFFFu) | (gpa & 0xFFF);
        return true;
    }

    private bool Permitted(in Tlb.Entry e, bool write, bool user)
    {
        if (user && !e.User) return false;
        if (write && !e.Writable && (user || WriteProtect)) return false;
        return true;
    }

    private void Fill(FastTlb fast, uint vpn, in Tlb.Entry e, bool user)
    {
        ref var f = ref fast.Entries[vpn & FastTlb.Mask];
        f.ReadTag = vpn;
        bool writable = (e.Writable || (!user && !WriteProtect)) && e.Dirty && !_memory.IsCodeFrame(e.Frame);
        f.WriteTag = writable ? vpn : Tlb.Invalid;
        f.Host = (int)(e.Frame << 12);
        f.Frame = e.Frame;
    }

    private TranslateStatus Walk(uint linear, MemoryAccess access, bool user, out Tlb.Entry entry)
    {
        bool write = access == MemoryAccess.Write;
        entry = default;
        if (!PagingEnabled)
        {
            uint frame = linear >> 12;
            if (NestedRoot is not null)
            {
                _counts[(int)Event.TlbMiss]++;
                if (!NestedTranslate(linear, access, false, out uint machine)) return TranslateStatus.NestedFault;
                frame = machine >> 12;
            }
            entry = new Tlb.Entry { Vpn = linear >> 12, Frame = frame, User = true, Writable = true, Dirty = true };
            return TranslateStatus.Ok;
        }

        _counts[(int)Event.TlbMiss]++;
        uint errorUser = user ? 4u : 0u, errorWrite = write ? 2u : 0u;

        // Page directory entry.
        uint pdeAddr = Root + (linear >> 22) * 4;
        if (!ReadTableEntry(pdeAddr, out uint pde)) return TranslateStatus.NestedFault;
        if ((pde & Present) == 0) return Fault(errorUser | errorWrite);
        if ((pde & LargePage) != 0 && PageSizeExtensions)
        {
            var large = new Tlb.Entry
            {
                Vpn = linear >> 12, User = (pde & UserBit) != 0, Writable = (pde & Writable) != 0,
                Dirty = (pde & DirtyBit) != 0, PdeAddress = pdeAddr, PteAddress = 0,
                Frame = ((pde & 0xFFC0_0000) | (linear & 0x003F_F000)) >> 12,
            };
            if (!Permitted(in large, write, user)) return Fault(1 | errorUser | errorWrite);
            uint updated = pde | Accessed | (write ? DirtyBit : 0);
            if (updated != pde) WriteTableEntry(pdeAddr, updated);
            large.Dirty = (updated & DirtyBit) != 0;
            return Nested(ref large, linear, access, out entry);
        }
        if ((pde & Accessed) == 0) { pde |= Accessed; WriteTableEntry(pdeAddr, pde); }

        // Page table entry.
        uint pteAddr = (pde & ~0xFFFu) + ((linear >> 12) & 0x3FF) * 4;
        if (!ReadTableEntry(pteAddr, out uint pte)) return TranslateStatus.NestedFault;
        if ((pte & Present) == 0) return Fault(errorUser | errorWrite);
        var e = new Tlb.Entry
        {
            Vpn = linear >> 12, Frame = pte >> 12, PdeAddress = pdeAddr, PteAddress = pteAddr,
            User = (pde & pte & UserBit) != 0, Writable = (pde & pte & Writable) != 0,
        };
        if (!Permitted(in e, write, user)) return Fault(1 | errorUser | errorWrite);
        uint newPte = pte | Accessed | (write ? DirtyBit : 0);
        if (newPte != pte) WriteTableEntry(pteAddr, newPte);
        e.Dirty = (newPte & DirtyBit) != 0;
        return Nested(ref e, linear, access, out entry);
    }

    /// <summary>Under nested paging, translates the guest-physical frame of a finished walk.</summary>
    private TranslateStatus Nested(ref Tlb.Entry e, uint linear, MemoryAccess access, out Tlb.Entry entry)
    {
        entry = e;
        if (NestedRoot is null) return TranslateStatus.Ok;
        if (!NestedTranslate(e.Frame << 12 | (linear & 0xFFF), access, false, out uint machine)) return TranslateStatus.NestedFault;
        entry.Frame = machine >> 12;
        return TranslateStatus.Ok;
    }

    private TranslateStatus Fault(uint errorCode)
    {
        FaultErrorCode = errorCode;
        return TranslateStatus.PageFault;
    }

    /// <summary>Reads a guest page-table entry (through the nested tables when nested paging is on).</summary>
    private bool ReadTableEntry(uint address, out uint value)
    {
        value = 0;
        if (NestedRoot is not null && !NestedTranslate(address, MemoryAccess.Read, true, out address)) return false;
        _counts[(int)Event.PageWalkReference]++;
        value = _memory.Read32(address);
        return true;
    }

    private void WriteTableEntry(uint address, uint value)
    {
        // Accessed/dirty updates go to the table the walk read (the nested translation was just made).
        if (NestedRoot is not null && !PeekNested(address, out address)) return;
        _counts[(int)Event.PageWalkReference]++;
        _memory.Write32(address, value);
    }

    private void SetDirty(ref Tlb.Entry e)
    {
        // The first write through a clean entry: the hardware re-reads the entry and sets D (one locked update).
        uint address = e.PteAddress != 0 ? e.PteAddress : e.PdeAddress;
        if (NestedRoot is not null && !PeekNested(address, out address)) return;
        _counts[(int)Event.PageWalkReference]++;
        _memory.Write32(address, _memory.Read32(address) | DirtyBit | Accessed);
    }

    /// <summary>
    /// Nested (second-dimension) walk of a guest-physical address, counting its two references: one for the
    /// nested directory entry, one for the nested table entry. <paramref name="pagingStructure"/> says the access
    /// reads one of the guest's own page-table entries (for the exit qualification).
    /// </summary>
    private bool NestedTranslate(uint gpa, MemoryAccess access, bool pagingStructure, out uint machine)
    {
        machine = 0;
        bool write = access == MemoryAccess.Write;
        uint root = NestedRoot!.Value;
        _counts[(int)Event.NestedWalkReference]++;
        uint npde = _memory.Read32(root + (gpa >> 22) * 4);
        if ((npde & Present) == 0) return NestedViolation(gpa, access, pagingStructure, 0);
        _counts[(int)Event.NestedWalkReference]++;
        uint npte = _memory.Read32((npde & ~0xFFFu) + ((gpa >> 12) & 0x3FF) * 4);
        uint allowed = (npte & Present) == 0 ? 0 : npde & npte & (Present | Writable);
        if (allowed == 0 || (write && (allowed & Writable) == 0)) return NestedViolation(gpa, access, pagingStructure, allowed);
        machine = (npte & ~0xFFFu) | (gpa & 0xFFF);
        return true;
    }

    private bool NestedViolation(uint gpa, MemoryAccess access, bool pagingStructure, uint allowed)
    {
        LastNestedFault = new NestedFault(gpa, access, pagingStructure, (allowed & Present) != 0, (allowed & Writable) != 0);
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal FastTlb FastFor(bool user) => user ? FastUser : FastSupervisor;
}
