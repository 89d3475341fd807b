namespace VirtBench.Engines.Vmm;

/// <summary>
/// The shadow paging reverse map: for each guest frame, the shadow page-table entries that map it, so that
/// write-protecting a frame that becomes a traced page table finds every alias. A pooled linked list per frame:
/// no allocation once the pool has grown to the working set.
/// </summary>
internal sealed class ReverseMap
{
    private readonly int[] _head;
    private int[] _next = new int[1024];
    private ShadowTable?[] _table = new ShadowTable?[1024];
    private int[] _index = new int[1024];
    private int _free = -1, _used;

    public ReverseMap(int frames)
    {
        _head = new int[frames];
        Array.Fill(_head, -1);
    }

    /// <summary>Records that entry <paramref name="index"/> of <paramref name="table"/> maps <paramref name="frame"/>.</summary>
    public void Add(uint frame, ShadowTable table, int index)
    {
        int node = _free;
        if (node >= 0) _free = _next[node];
        else
        {
            if (_used == _next.Length) Grow();
            node = _used++;
        }
        (_table[node], _index[node], _next[node]) = (table, index, _head[frame]);
        _head[frame] = node;
    }

    /// <summary>Forgets the mapping recorded by <see cref="Add"/>.</summary>
    public void Remove(uint frame, ShadowTable table, int index)
    {
        int previous = -1;
        for (int node = _head[frame]; node >= 0; previous = node, node = _next[node])
        {
            if (_table[node] != table || _index[node] != index) continue;
            if (previous < 0) _head[frame] = _next[node]; else _next[previous] = _next[node];
            _table[node] = null;
            _next[node] = _free;
            _free = node;
            return;
        }
    }

    /// <summary>The first node for a frame (-1: none); walk with <see cref="Next"/>, read with <see cref="At"/>.</summary>
    public int First(uint frame) => _head[frame];

    /// <summary>The node after <paramref name="node"/> (-1: none).</summary>
    public int Next(int node) => _next[node];

    /// <summary>The shadow entry a node records.</summary>
    public (ShadowTable Table, int Index) At(int node) => (_table[node]!, _index[node]);

    private void Grow()
    {
        int size = _next.Length * 2;
        Array.Resize(ref _next, size);
        Array.Resize(ref _table, size);
        Array.Resize(ref _index, size);
    }
}
