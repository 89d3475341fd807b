using Iced.Intel;

namespace VirtBench.Machine;

/// <summary>
/// One run's counts in one flat array (DESIGN.md section 4): events, retired instructions by
/// execution mode and mnemonic, and VMM instruction emulations by mnemonic.
/// The CPU and engines increment <see cref="Raw"/> directly on hot paths; everything else reads it
/// through the typed accessors.
/// </summary>
public sealed class Counters
{
    /// <summary>Number of Iced mnemonics (the size of a per-mnemonic row).</summary>
    public static readonly int MnemonicCount = (int)Enum.GetValues<Mnemonic>().Max() + 1;

    /// <summary>Number of execution modes.</summary>
    public static readonly int ModeCount = Enum.GetValues<ExecutionMode>().Length;

    internal static readonly int InstructionBase = EventInfo.Count;
    internal static readonly int EmulationBase = InstructionBase + ModeCount * MnemonicCount;
    internal static readonly int Length = EmulationBase + MnemonicCount;

    /// <summary>An all-zero set of counters.</summary>
    public Counters() => Raw = new ulong[Length];

    private Counters(ulong[] raw) => Raw = raw;

    /// <summary>The flat array (events, then instructions, then emulations).</summary>
    internal ulong[] Raw { get; }

    /// <summary>Index in <see cref="Raw"/> of the instruction counter for a mode and mnemonic.</summary>
    internal static int InstructionIndex(ExecutionMode mode, Mnemonic mnemonic) =>
        InstructionBase + (int)mode * MnemonicCount + (int)mnemonic;

    /// <summary>Count of an event.</summary>
    public ulong this[Event e] => Raw[(int)e];

    /// <summary>Adds to an event's count.</summary>
    public void Add(Event e, ulong n = 1) => Raw[(int)e] += n;

    /// <summary>Instructions retired with this mnemonic in this mode.</summary>
    public ulong Instructions(ExecutionMode mode, Mnemonic mnemonic) => Raw[InstructionIndex(mode, mnemonic)];

    /// <summary>Instructions retired in this mode, all mnemonics.</summary>
    public ulong Instructions(ExecutionMode mode) =>
        Sum(InstructionBase + (int)mode * MnemonicCount, MnemonicCount);

    /// <summary>Instructions retired in every mode.</summary>
    public ulong TotalInstructions => Sum(InstructionBase, ModeCount * MnemonicCount);

    /// <summary>Instructions retired with this mnemonic in every mode.</summary>
    public ulong Instructions(Mnemonic mnemonic)
    {
        ulong sum = 0;
        for (int m = 0; m < ModeCount; m++) sum += Raw[InstructionIndex((ExecutionMode)m, mnemonic)];
        return sum;
    }

    /// <summary>VMM emulations of this mnemonic.</summary>
    public ulong Emulations(Mnemonic mnemonic) => Raw[EmulationBase + (int)mnemonic];

    /// <summary>Records VMM emulations of an instruction (also counts <see cref="Event.InstructionEmulated"/>).</summary>
    public void AddEmulation(Mnemonic mnemonic, ulong n = 1)
    {
        Raw[EmulationBase + (int)mnemonic] += n;
        Raw[(int)Event.InstructionEmulated] += n;
    }

    /// <summary>Adds retired instructions (used when counts are rebuilt from saved results).</summary>
    public void AddInstructions(ExecutionMode mode, Mnemonic mnemonic, ulong n) => Raw[InstructionIndex(mode, mnemonic)] += n;

    /// <summary>Non-zero instruction counts as (mode, mnemonic, count).</summary>
    public IEnumerable<(ExecutionMode Mode, Mnemonic Mnemonic, ulong Count)> InstructionCounts()
    {
        for (int m = 0; m < ModeCount; m++)
            for (int i = 0; i < MnemonicCount; i++)
            {
                ulong n = Raw[InstructionBase + m * MnemonicCount + i];
                if (n != 0) yield return ((ExecutionMode)m, (Mnemonic)i, n);
            }
    }

    /// <summary>Non-zero emulation counts by mnemonic.</summary>
    public IEnumerable<(Mnemonic Mnemonic, ulong Count)> EmulationCounts()
    {
        for (int i = 0; i < MnemonicCount; i++)
            if (Raw[EmulationBase + i] is var n && n != 0) yield return ((Mnemonic)i, n);
    }

    /// <summary>Non-zero event counts.</summary>
    public IEnumerable<(Event Event, ulong Count)> EventCounts()
    {
        foreach (var e in EventInfo.All)
            if (Raw[(int)e] is var n && n != 0) yield return (e, n);
    }

    /// <summary>A copy of the current values.</summary>
    public Counters Snapshot() => new((ulong[])Raw.Clone());

    /// <summary>The counts accumulated between two snapshots (<paramref name="later"/> minus <paramref name="earlier"/>).</summary>
    public static Counters Difference(Counters later, Counters earlier)
    {
        var d = new ulong[Length];
        for (int i = 0; i < d.Length; i++) d[i] = later.Raw[i] - earlier.Raw[i];
        return new Counters(d);
    }

    /// <summary>The sum of two sets of counts.</summary>
    public static Counters Sum(Counters a, Counters b)
    {
        var d = new ulong[Length];
        for (int i = 0; i < d.Length; i++) d[i] = a.Raw[i] + b.Raw[i];
        return new Counters(d);
    }

    /// <summary>True when every count is equal.</summary>
    public bool SameAs(Counters other) => Raw.AsSpan().SequenceEqual(other.Raw);

    private ulong Sum(int start, int count)
    {
        ulong sum = 0;
        foreach (ulong v in Raw.AsSpan(start, count)) sum += v;
        return sum;
    }
}
