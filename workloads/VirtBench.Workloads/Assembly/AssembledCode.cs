namespace VirtBench.Workloads.Assembly;

/// <summary>A code range emitted under a tag (e.g. one pv-ops site), as [Start, End) addresses.</summary>
internal readonly record struct TaggedRange(string Tag, uint Start, uint End)
{
    /// <summary>True if the address lies in the range.</summary>
    public bool Contains(uint address) => address >= Start && address < End;
}

/// <summary>Assembled guest code: bytes at an origin, symbols, the end of the instructions (data follows), tagged ranges.</summary>
internal sealed record AssembledCode(
    uint Origin, byte[] Bytes, IReadOnlyDictionary<string, uint> Symbols, uint TextEnd, IReadOnlyList<TaggedRange> Ranges)
{
    /// <summary>The address just past the last byte.</summary>
    public uint End => Origin + (uint)Bytes.Length;

    /// <summary>The address of a symbol; throws if it does not exist.</summary>
    public uint this[string symbol] => Symbols.TryGetValue(symbol, out uint a)
        ? a : throw new KeyNotFoundException($"no guest symbol '{symbol}'");
}
