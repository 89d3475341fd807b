using VirtBench.Machine;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The guest's linear address space as a VMM sees it: a software walk of the guest's own page tables
/// (the root the guest loaded into its virtual CR3), with the guest's paging controls. VMMs use it to read
/// the instruction that trapped, read descriptor tables and operands, push exception frames, and fill shadow
/// page tables. Like hardware, it sets accessed and dirty bits in the guest's tables when asked to.
/// Guest-physical addresses are machine addresses here (guest RAM starts at machine address 0), but a
/// translation to a frame outside guest RAM is reported, never followed.
/// </summary>
public sealed class GuestAddressSpace(PhysicalMemory memory)
{
    private const uint Present = 1, Writable = 2, UserBit = 4, Accessed = 0x20, Dirty = 0x40, LargePage = 0x80;

    /// <summary>Machine memory (guest RAM followed by the VMM's region).</summary>
    public PhysicalMemory Memory { get; } = memory;

    /// <summary>The guest's CR0.PG.</summary>
    public bool Paging { get; set; }

    /// <summary>The guest's CR3 (its page directory, a guest-physical address).</summary>
    public uint Root { get; set; }

    /// <summary>The guest's CR4.PSE.</summary>
    public bool PageSizeExtensions { get; set; }

    /// <summary>The guest's CR0.WP.</summary>
    public bool WriteProtect { get; set; }

    /// <summary>
    /// Called after <see cref="TryWrite"/> stored bytes (guest-physical address, length; never across a page), so
    /// that a VMM can follow its own writes into pages it traces (page tables, descriptor tables). Accessed and
    /// dirty updates made by walks are not reported.
    /// </summary>
    public Action<uint, int>? Written { get; set; }

    /// <summary>
    /// True (the default) when the VMM keeps <see cref="HypervisorRegion"/> for itself, as a software VMM under a
    /// deprivileged guest kernel does; false when the guest owns all of its linear space (VT-x).
    /// </summary>
    public bool HypervisorRegionReserved { get; init; } = true;

    /// <summary>True if <paramref name="linear"/> lies in the hypervisor region and the VMM reserves it.</summary>
    public bool InHypervisorRegion(uint linear) => HypervisorRegionReserved && HypervisorRegion.Contains(linear);

    /// <summary>
    /// Which machine frames the guest owns, when that is not simply guest RAM (a paravirtual domain also owns its
    /// bootstrap page tables and shares the hypervisor's shared-info page); null means guest RAM.
    /// </summary>
    public Func<uint, bool>? OwnsFrame { get; set; }

    /// <summary>True if a guest-physical range lies in guest RAM (or in frames <see cref="OwnsFrame"/> accepts).</summary>
    public bool IsGuestRam(uint physical, uint length = 1) => OwnsFrame is { } owns
        ? (ulong)physical + length <= Memory.Size && owns(physical >> 12) && owns((physical + length - 1) >> 12)
        : (ulong)physical + length <= Memory.GuestRamBytes;

    /// <summary>
    /// Translates a guest linear address as the guest's MMU would, for an access by the given privilege class.
    /// With <paramref name="setAccessedDirty"/>, a successful walk sets A (and D for writes) in the guest's entries.
    /// </summary>
    public GuestTranslation Translate(uint linear, MemoryAccess access, bool user, bool setAccessedDirty = true)
    {
        if (!Paging)
            return new GuestTranslation(IsGuestRam(linear) ? GuestTranslationStatus.Ok : GuestTranslationStatus.OutsideGuestRam,
                linear, 0, 0, 0, Present | Writable | UserBit, Present | Writable | UserBit | Dirty);
        bool write = access == MemoryAccess.Write;
        uint errorBase = (write ? 2u : 0u) | (user ? 4u : 0u);
        uint pdeAddress = (Root & ~0xFFFu) + (linear >> 22) * 4;
        if (!IsGuestRam(pdeAddress, 4)) return Fault(errorBase, pdeAddress, 0, 0, 0);
        uint pde = Memory.Read32(pdeAddress);
        if ((pde & Present) == 0) return Fault(errorBase, pdeAddress, 0, pde, 0);

        uint pteAddress, pte, physical;
        if ((pde & LargePage) != 0 && PageSizeExtensions)
        {
            pteAddress = 0;
            pte = pde;
            physical = (pde & 0xFFC0_0000) | (linear & 0x003F_FFFF);
        }
        else
        {
            pteAddress = (pde & ~0xFFFu) + ((linear >> 12) & 0x3FF) * 4;
            if (!IsGuestRam(pteAddress, 4)) return Fault(errorBase, pdeAddress, pteAddress, pde, 0);
            pte = Memory.Read32(pteAddress);
            if ((pte & Present) == 0) return Fault(errorBase, pdeAddress, pteAddress, pde, pte);
            physical = (pte & ~0xFFFu) | (linear & 0xFFF);
        }

        var t = new GuestTranslation(GuestTranslationStatus.Ok, physical, 0, pdeAddress, pteAddress, pde, pte);
        bool allowed = (!user || t.User) && (!write || t.Writable || (!user && !WriteProtect));
        if (!allowed) return Fault(errorBase | 1, pdeAddress, pteAddress, pde, pte);
        if (setAccessedDirty)
        {
            int updates = 0;
            if ((pde & Accessed) == 0) { Memory.Write32(pdeAddress, pde |= Accessed); updates++; }
            uint entryAddress = pteAddress != 0 ? pteAddress : pdeAddress;
            if (pteAddress == 0) pte = pde;
            uint updated = pte | Accessed | (write ? Dirty : 0);
            if (updated != pte) { Memory.Write32(entryAddress, pte = updated); updates++; }
            t = t with { Pde = pteAddress == 0 ? pte : pde, Pte = pte, AccessedDirtyUpdates = updates };
        }
        if (!IsGuestRam(physical)) return t with { Status = GuestTranslationStatus.OutsideGuestRam };
        return t;
    }

    private static GuestTranslation Fault(uint error, uint pdeAddress, uint pteAddress, uint pde, uint pte) =>
        new(GuestTranslationStatus.PageFault, 0, error, pdeAddress, pteAddress, pde, pte);

    /// <summary>Reads 1, 2 or 4 bytes at a guest linear address (may cross a page); on failure, the failing translation.</summary>
    public bool TryRead(uint linear, int size, bool user, out uint value, out GuestTranslation failure)
    {
        value = 0;
        Span<uint> physical = stackalloc uint[4];
        if (!TranslateRange(linear, size, MemoryAccess.Read, user, physical, out failure)) return false;
        for (int i = 0; i < size; i++) value |= (uint)Memory.Read8(physical[i]) << (8 * i);
        return true;
    }

    /// <summary>Writes 1, 2 or 4 bytes at a guest linear address; nothing is written unless every byte translates.</summary>
    public bool TryWrite(uint linear, int size, bool user, uint value, out GuestTranslation failure)
    {
        Span<uint> physical = stackalloc uint[4];
        if (!TranslateRange(linear, size, MemoryAccess.Write, user, physical, out failure)) return false;
        int start = 0;
        for (int i = 0; i < size; i++)
        {
            Memory.Write8(physical[i], (byte)(value >> (8 * i)));
            bool pageEnds = i == size - 1 || physical[i + 1] != physical[i] + 1 || (physical[i + 1] & 0xFFF) == 0;
            if (!pageEnds) continue;
            Written?.Invoke(physical[start], i - start + 1);
            start = i + 1;
        }
        return true;
    }

    /// <summary>
    /// Reads a buffer at a guest linear address (hypercall arguments, frames), one walk per page; on failure,
    /// the failing translation (the destination may then be partly filled).
    /// </summary>
    public bool TryReadBytes(uint linear, Span<byte> destination, bool user, out GuestTranslation failure)
    {
        int done = 0;
        while (done < destination.Length)
        {
            uint address = linear + (uint)done;
            var t = Translate(address, MemoryAccess.Read, user);
            if (!t.Ok) { failure = t; return false; }
            int chunk = Math.Min(destination.Length - done, (int)(Platform.PageSize - (address & 0xFFF)));
            Memory.Read(t.Physical, destination.Slice(done, chunk));
            done += chunk;
        }
        failure = default;
        return true;
    }

    /// <summary>Reads up to <paramref name="destination"/>.Length bytes (e.g. an instruction); returns how many were readable.</summary>
    public int ReadBytes(uint linear, Span<byte> destination, bool user)
    {
        int done = 0;
        while (done < destination.Length)
        {
            uint at = linear + (uint)done;
            var t = Translate(at, MemoryAccess.Execute, user, setAccessedDirty: false);
            if (!t.Ok) return done;
            int chunk = (int)Math.Min((uint)(destination.Length - done), 4096 - (at & 0xFFF));
            for (int i = 0; i < chunk; i++) destination[done + i] = Memory.Read8(t.Physical + (uint)i);
            done += chunk;
        }
        return done;
    }

    /// <summary>Translates every byte of [linear, linear+size) (one walk per page), or returns the failing translation.</summary>
    private bool TranslateRange(uint linear, int size, MemoryAccess access, bool user, Span<uint> physical, out GuestTranslation failure)
    {
        failure = default;
        var t = default(GuestTranslation);
        for (int i = 0; i < size; i++)
        {
            uint at = linear + (uint)i;
            if (i == 0 || (at & 0xFFF) == 0)
            {
                t = Translate(at, access, user);
                if (!t.Ok) { failure = t; return false; }
                physical[i] = t.Physical;
            }
            else physical[i] = physical[i - 1] + 1;
        }
        return true;
    }
}
