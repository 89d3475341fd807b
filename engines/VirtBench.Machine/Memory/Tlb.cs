namespace VirtBench.Machine.Memory;

/// <summary>
/// The modeled TLB: set-associative (4 ways, or fewer when it has fewer entries), FIFO replacement
/// within a set. It decides what counts as a miss; the CPU's fast lookup (<see cref="FastTlb"/>) only
/// ever holds translations this TLB holds, so a fast-path hit is always a modeled hit.
/// </summary>
internal sealed class Tlb
{
    internal const uint Invalid = uint.MaxValue;

    internal struct Entry
    {
        public uint Vpn;        // linear page number, or Invalid
        public uint Frame;      // machine frame number
        public bool User;       // PDE.US & PTE.US
        public bool Writable;   // PDE.RW & PTE.RW
        public bool Dirty;      // PTE.D already set (so a write needs no update)
        public uint PteAddress; // machine address of the PTE (to set D on the first write); 0 for 4 MiB pages
        public uint PdeAddress; // machine address of the PDE
    }

    private readonly Entry[] _entries;
    private readonly byte[] _next; // FIFO victim per set
    private readonly int _ways, _setMask;

    public Tlb(int entries)
    {
        _ways = Math.Min(4, entries);
        int sets = entries / _ways;
        _setMask = sets - 1;
        _entries = new Entry[entries];
        _next = new byte[sets];
        FlushAll();
    }

    public int Capacity => _entries.Length;

    /// <summary>Finds the entry for a page, or returns -1.</summary>
    public int Find(uint vpn)
    {
        int start = (int)(vpn & (uint)_setMask) * _ways;
        for (int i = start; i < start + _ways; i++)
            if (_entries[i].Vpn == vpn) return i;
        return -1;
    }

    public ref Entry this[int index] => ref _entries[index];

    /// <summary>Inserts a translation; returns the page it evicted (or <see cref="Invalid"/>).</summary>
    public uint Insert(in Entry entry, out int index)
    {
        int set = (int)(entry.Vpn & (uint)_setMask);
        index = set * _ways + _next[set];
        _next[set] = (byte)((_next[set] + 1) % _ways);
        uint evicted = _entries[index].Vpn;
        _entries[index] = entry;
        return evicted;
    }

    public void FlushAll()
    {
        for (int i = 0; i < _entries.Length; i++) _entries[i].Vpn = Invalid;
        Array.Clear(_next);
    }

    /// <summary>Drops the translation of one page if present.</summary>
    public bool FlushPage(uint vpn)
    {
        int i = Find(vpn);
        if (i < 0) return false;
        _entries[i].Vpn = Invalid;
        return true;
    }
}
