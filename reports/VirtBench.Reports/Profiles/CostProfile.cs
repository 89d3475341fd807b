using Iced.Intel;
using VirtBench.Machine;

namespace VirtBench.Reports.Profiles;

/// <summary>
/// A cost profile (DESIGN.md section 7): modeled cycles for every <see cref="Event"/>, and for guest
/// instructions per mnemonic with a default, each with its source. Load one with <see cref="ProfileCatalog"/>.
/// </summary>
public sealed class CostProfile
{
    private readonly CostEntry[] _events;
    private readonly Dictionary<Mnemonic, CostEntry> _instructions;
    private readonly double[] _mnemonicCycles;

    internal CostProfile(string name, string description, int? year, string origin,
        CostEntry[] events, CostEntry defaultInstruction, Dictionary<Mnemonic, CostEntry> instructions)
    {
        Name = name;
        Description = description;
        Year = year;
        Origin = origin;
        _events = events;
        DefaultInstruction = defaultInstruction;
        _instructions = instructions;
        _mnemonicCycles = new double[Counters.MnemonicCount];
        Array.Fill(_mnemonicCycles, defaultInstruction.Cycles);
        foreach (var (m, entry) in instructions) _mnemonicCycles[(int)m] = entry.Cycles;
    }

    /// <summary>The profile's name (e.g. <c>modern</c>).</summary>
    public string Name { get; }

    /// <summary>One line: the machine it models and where its figures come from.</summary>
    public string Description { get; }

    /// <summary>The year of the machine it models, used to order profiles (may be absent in user profiles).</summary>
    public int? Year { get; }

    /// <summary>Where it was loaded from: <c>shipped</c>, or the file path.</summary>
    public string Origin { get; }

    /// <summary>The cost of every event, in <see cref="Event"/> order.</summary>
    public IEnumerable<(Event Event, CostEntry Cost)> Events => EventInfo.All.Select(e => (e, _events[(int)e]));

    /// <summary>The cost of an instruction whose mnemonic has no entry of its own.</summary>
    public CostEntry DefaultInstruction { get; }

    /// <summary>Instructions priced individually, by mnemonic name.</summary>
    public IEnumerable<(Mnemonic Mnemonic, CostEntry Cost)> Instructions =>
        _instructions.OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value));

    /// <summary>The entry for an event.</summary>
    public CostEntry this[Event e] => _events[(int)e];

    /// <summary>Modeled cycles of one retired instruction with this mnemonic.</summary>
    public double CyclesOf(Mnemonic m) => _mnemonicCycles[(int)m];

    /// <summary>
    /// A copy with some event costs replaced (used to re-price the same counts over a range of one
    /// mechanism's cost). <paramref name="nameSuffix"/> is appended to the name to keep the copy distinct.
    /// </summary>
    public CostProfile WithEvents(IEnumerable<(Event Event, CostEntry Cost)> changes, string nameSuffix)
    {
        var events = (CostEntry[])_events.Clone();
        foreach (var (e, cost) in changes) events[(int)e] = cost;
        return new CostProfile(Name + nameSuffix, Description, Year, Origin, events, DefaultInstruction, new(_instructions));
    }
}
