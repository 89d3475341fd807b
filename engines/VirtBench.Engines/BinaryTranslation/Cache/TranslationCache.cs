using VirtBench.Engines.BinaryTranslation.Decoding;
using VirtBench.Engines.BinaryTranslation.Runtime;
using VirtBench.Engines.BinaryTranslation.Translation;
using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.BinaryTranslation.Cache;

/// <summary>
/// The translation cache: a region of VMM memory the CPU executes translated code from (its second instruction
/// source), filled unit after unit and flushed whole when full, as VMware's was. It keeps the units (by address, for
/// the TC-to-guest map), the entry points (guest linear address to translation: unit starts, which branches go to, and
/// every instruction boundary of every unit, where the guest may resume after an interrupt), the lookup table of indirect branches, the chains between units (patched jumps, and the incoming ones a
/// dying unit must undo), and the guest pages the code came from (<see cref="CodePages"/>).
/// </summary>
internal sealed class TranslationCache
{
    /// <summary>Bytes of machine memory the cache takes by default.</summary>
    public const uint DefaultBytes = 4u << 20;

    private readonly Cpu _cpu;
    private readonly PhysicalMemory _memory;
    private readonly TranslatorData _data;
    private readonly Counters _counters;
    private readonly CodePages _pages;
    private readonly List<TranslationUnit> _units = [];
    private readonly Dictionary<uint, (TranslationUnit Unit, uint Address)> _entries = [];
    private readonly Dictionary<uint, TranslationUnit> _starts = [];
    private readonly uint _end, _unitsStart;
    private uint _next;
    private int _nextId;

    /// <summary>A cache of <paramref name="bytes"/> in the VMM's memory, starting with the indirect-lookup routine.</summary>
    public TranslationCache(DeprivilegedVmm vmm, TranslatorData data, uint bytes = DefaultBytes)
    {
        _cpu = vmm.Cpu;
        _memory = vmm.Pc.Memory;
        _data = data;
        _counters = vmm.Counters;
        _pages = new CodePages(vmm.Shadows);
        Start = vmm.Memory.Allocate(bytes);
        _end = Start + bytes;
        _next = Start;
        var routine = IndirectLookup.Routine().Encode(Start);
        Routine = Install(routine, new GuestUnit([], [], [], 0), linear: 0, registerEntries: false);
        _unitsStart = _next;
        data.ClearLookups();
    }

    /// <summary>Machine address of the cache.</summary>
    public uint Start { get; }

    /// <summary>The indirect-lookup routine (a unit of its own at the start, never flushed).</summary>
    public TranslationUnit Routine { get; }

    /// <summary>Where the next unit goes.</summary>
    public uint Next => _next;

    /// <summary>Times the cache was flushed because it was full.</summary>
    public int Flushes { get; private set; }

    /// <summary>The live units, in translation order.</summary>
    public IEnumerable<TranslationUnit> Units => _units.Where(u => u.Alive && u != Routine);

    /// <summary>True if a translation of <paramref name="length"/> bytes fits at <see cref="Next"/>.</summary>
    public bool Fits(int length) => (ulong)_next + (uint)length <= _end;

    /// <summary>The unit whose translation holds <paramref name="address"/>, or null.</summary>
    public TranslationUnit? UnitAt(uint address)
    {
        int lo = 0, hi = _units.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            var unit = _units[mid];
            if (address < unit.Address) hi = mid - 1;
            else if (address - unit.Address >= unit.Length) lo = mid + 1;
            else return unit;
        }
        return null;
    }

    /// <summary>
    /// The translation of the guest instruction at <paramref name="linear"/>: a unit that starts there, or (unless
    /// <paramref name="unitStart"/>) any unit that holds it.
    /// </summary>
    public bool TryEntry(uint linear, bool unitStart, out TranslationUnit unit, out uint address)
    {
        if (_entries.TryGetValue(linear, out var entry) && (!unitStart || entry.Unit.Linear == linear || TryStart(linear, out entry)))
        {
            (unit, address) = entry;
            return true;
        }
        (unit, address) = (null!, 0);
        return false;
    }

    private bool TryStart(uint linear, out (TranslationUnit Unit, uint Address) entry)
    {
        entry = default;
        if (!_starts.TryGetValue(linear, out var unit)) return false;
        entry = (unit, unit.Address);
        return true;
    }

    /// <summary>Writes a unit's translation at <see cref="Next"/> (which must fit) and records it.</summary>
    public TranslationUnit Install(EncodedUnit code, GuestUnit guest, uint linear, bool registerEntries = true)
    {
        uint address = _next;
        _memory.Write(address, code.Code);
        _next += (uint)((code.Code.Length + 15) & ~15);
        uint eip = guest.Instructions.Length > 0 ? (uint)guest.Instructions[0].IP : 0;
        var unit = new TranslationUnit(_nextId++, linear, eip, address, (uint)code.Code.Length, guest.Instructions, code.InstructionOffsets,
            code.Map, code.Sites, code.Exits, guest.Code, code.Probes.Select(p => p.Address).Distinct().ToArray());
        foreach (var (at, counted) in code.Probes)
        {
            if (counted is Event e) _cpu.AddProbe(at, e);
            else _cpu.AddProbe(at, unit.Executions, 0);
        }
        _units.Add(unit);
        _pages.Add(unit);
        if (registerEntries) AddEntries(unit);
        return unit;
    }

    /// <summary>Chains exit <paramref name="exit"/> of <paramref name="from"/> straight to <paramref name="address"/> in <paramref name="to"/>.</summary>
    public void Link(TranslationUnit from, int exit, TranslationUnit to, uint address)
    {
        Patch(from, from.Exits[exit], address);
        from.Exits[exit].LinkedTo = to;
        to.Incoming.Add((from, exit));
        _counters.Add(Event.BtChainPatch);
    }

    /// <summary>Notes that the lookup entry of guest EIP <paramref name="eip"/> now points into <paramref name="unit"/>.</summary>
    public void SetLookup(uint eip, TranslationUnit unit, uint address)
    {
        _data.SetLookup(eip, address);
        unit.Lookups.Add((eip, address));
    }

    /// <summary>Drops units because the guest wrote their source bytes or remapped their pages (each a <see cref="Event.BtInvalidation"/>).</summary>
    public void Invalidate(IEnumerable<TranslationUnit> units)
    {
        foreach (var unit in units)
        {
            if (!unit.Alive) continue;
            Kill(unit, unlinkIncoming: true);
            _counters.Add(Event.BtInvalidation);
        }
    }

    /// <summary>The guest wrote [physical, physical+length) on a page holding translated code.</summary>
    public void GuestCodeWritten(uint physical, int length) => Invalidate(_pages.Overlapping(physical, length));

    /// <summary>The guest's mappings may have changed (one page, or all): drops the units whose pages moved.</summary>
    public void MappingsChanged(GuestAddressSpace memory, uint? linear) => Invalidate(_pages.Remapped(memory, linear));

    /// <summary>
    /// Puts <paramref name="replacement"/> (a retranslation of the same guest code) in place of <paramref name="old"/>:
    /// chained jumps into the old unit now go to the new one, and the old unit's first instruction becomes a forwarding
    /// jump to the new one.
    /// </summary>
    public void Replace(TranslationUnit old, TranslationUnit replacement)
    {
        foreach (var (from, exit) in old.Incoming.ToList())
        {
            if (!from.Alive || from == old) continue;
            from.Exits[exit].LinkedTo = null;
            int index = replacement.IndexOf(from.Exits[exit].Target);
            if (index < 0) { Patch(from, from.Exits[exit], from.Address + (uint)from.Exits[exit].StubOffset); continue; }
            Patch(from, from.Exits[exit], replacement.Address + (uint)replacement.InstructionOffsets[index]);
            from.Exits[exit].LinkedTo = replacement;
            replacement.Incoming.Add((from, exit));
        }
        old.Incoming.Clear();
        Kill(old, unlinkIncoming: false);
        _memory.Write8(old.Address, 0xE9);
        _memory.Write32(old.Address + 1, replacement.Address - (old.Address + 5));
        AddEntries(replacement);
    }

    /// <summary>Drops every unit (the cache is full): translation starts again from an empty cache.</summary>
    public void Flush()
    {
        foreach (var unit in Units.ToList())
        {
            unit.Alive = false;
            foreach (uint probe in unit.Probes) _cpu.RemoveProbes(probe);
        }
        _units.RemoveAll(u => u != Routine);
        _entries.Clear();
        _starts.Clear();
        _pages.Clear();
        _data.ClearLookups();
        _next = _unitsStart;
        Flushes++;
    }

    /// <summary>Registers every instruction boundary of a unit as an entry point (where no other unit has one).</summary>
    private void AddEntries(TranslationUnit unit)
    {
        for (int k = 0; k < unit.Guest.Length; k++)
        {
            uint linear = unit.Linear + ((uint)unit.Guest[k].IP - unit.Eip);
            _entries.TryAdd(linear, (unit, unit.Address + (uint)unit.InstructionOffsets[k]));
        }
        _starts.TryAdd(unit.Linear, unit);
    }

    /// <summary>Takes a unit out of service: its entries, lookups, chains, probes and pages.</summary>
    private void Kill(TranslationUnit unit, bool unlinkIncoming)
    {
        unit.Alive = false;
        for (int k = 0; k < unit.Guest.Length; k++)
        {
            uint linear = unit.Linear + ((uint)unit.Guest[k].IP - unit.Eip);
            if (_entries.TryGetValue(linear, out var entry) && entry.Unit == unit) _entries.Remove(linear);
        }
        if (_starts.TryGetValue(unit.Linear, out var start) && start == unit) _starts.Remove(unit.Linear);
        foreach (var (eip, address) in unit.Lookups) _data.ClearLookup(eip, address);
        if (unlinkIncoming)
            foreach (var (from, exit) in unit.Incoming)
                if (from.Alive && from.Exits[exit].LinkedTo == unit)
                {
                    Patch(from, from.Exits[exit], from.Address + (uint)from.Exits[exit].StubOffset);
                    from.Exits[exit].LinkedTo = null;
                }
        unit.Incoming.Clear();
        for (int k = 0; k < unit.Exits.Length; k++)
            unit.Exits[k].LinkedTo?.Incoming.Remove((unit, k));
        foreach (uint probe in unit.Probes) _cpu.RemoveProbes(probe);
        _pages.Remove(unit);
    }

    /// <summary>Points an exit's jump (its rel32, the last four bytes) at <paramref name="target"/>.</summary>
    private void Patch(TranslationUnit unit, UnitExit exit, uint target)
    {
        uint end = unit.Address + (uint)exit.JumpEnd;
        _memory.Write32(end - 4, target - end);
    }
}
