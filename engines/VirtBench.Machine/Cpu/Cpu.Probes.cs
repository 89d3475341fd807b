namespace VirtBench.Machine.Cpu;

// Execution probes on translated code: how often a translation-cache instruction retired, counted by the CPU
// block by block (never per instruction), without executing anything or changing what retires.
public sealed partial class Cpu
{
    private readonly Dictionary<uint, List<ProbeCounter>> _probes = [];

    /// <summary>
    /// Counts every retirement of the translation-cache instruction at <paramref name="machineAddress"/> in
    /// <paramref name="counters"/>[<paramref name="index"/>]. A binary translator observes its own code this way
    /// (units entered, in-TC emulations, indirect lookups) where real hardware would need extra instructions.
    /// The instruction must start at that address; an address may have several probes.
    /// </summary>
    public void AddProbe(uint machineAddress, ulong[] counters, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, counters.Length);
        if (!_probes.TryGetValue(machineAddress, out var list)) _probes[machineAddress] = list = [];
        list.Add(new ProbeCounter(counters, index));
        Cache.InvalidateRange(machineAddress, 1); // blocks decoded before learn the probe when rebuilt
    }

    /// <summary>Counts every retirement of the translation-cache instruction at <paramref name="machineAddress"/> as an event.</summary>
    public void AddProbe(uint machineAddress, Event counted) => AddProbe(machineAddress, Counts, (int)counted);

    /// <summary>Removes the probes at an address, if any.</summary>
    public void RemoveProbes(uint machineAddress)
    {
        if (_probes.Remove(machineAddress)) Cache.InvalidateRange(machineAddress, 1);
    }

    /// <summary>The probes on the instructions of a block fetched from the translation cache, or null.</summary>
    internal BlockProbe[]? ProbesFor(ReadOnlySpan<Iced.Intel.Instruction> instructions)
    {
        if (_probes.Count == 0) return null;
        List<BlockProbe>? found = null;
        for (int i = 0; i < instructions.Length; i++)
            if (_probes.TryGetValue((uint)instructions[i].IP, out var list))
                foreach (var probe in list) (found ??= []).Add(new BlockProbe(i, probe.Counters, probe.Index));
        return found?.ToArray();
    }

    /// <summary>Counts the probes of a block whose instructions <paramref name="from"/> up to (not including) <paramref name="to"/> retired.</summary>
    private static void CountProbes(BlockProbe[] probes, int from, int to)
    {
        foreach (var probe in probes)
            if (probe.Position >= from && probe.Position < to) probe.Counters[probe.Index]++;
    }

    private readonly record struct ProbeCounter(ulong[] Counters, int Index);
}

/// <summary>A probe on an instruction of a decoded block: its position in the block and the counter it increments.</summary>
internal readonly record struct BlockProbe(int Position, ulong[] Counters, int Index);
