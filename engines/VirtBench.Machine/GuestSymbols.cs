namespace VirtBench.Machine;

/// <summary>Guest code symbols (address to name), so that reports can say "irq_save+0x3" instead of 0x00101234.</summary>
public sealed class GuestSymbols
{
    private readonly uint[] _addresses;
    private readonly string[] _names;

    /// <summary>No symbols.</summary>
    public static GuestSymbols Empty { get; } = new(new Dictionary<string, uint>());

    /// <summary>Builds the table from name/address pairs.</summary>
    public GuestSymbols(IReadOnlyDictionary<string, uint> symbols)
    {
        var sorted = symbols.OrderBy(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        _addresses = sorted.Select(kv => kv.Value).ToArray();
        _names = sorted.Select(kv => kv.Key).ToArray();
    }

    /// <summary>Number of symbols.</summary>
    public int Count => _addresses.Length;

    /// <summary>All symbols, by address.</summary>
    public IEnumerable<(string Name, uint Address)> All => _names.Zip(_addresses);

    /// <summary>The address of a symbol, or null.</summary>
    public uint? AddressOf(string name)
    {
        int i = Array.IndexOf(_names, name);
        return i < 0 ? null : _addresses[i];
    }

    /// <summary>"name+0xoff" for the closest symbol at or below the address, else the bare hex address.</summary>
    public string Describe(uint address)
    {
        int i = Array.BinarySearch(_addresses, address);
        if (i < 0) i = ~i - 1;
        if (i < 0) return $"0x{address:x8}";
        uint offset = address - _addresses[i];
        return offset == 0 ? _names[i] : $"{_names[i]}+0x{offset:x}";
    }
}
