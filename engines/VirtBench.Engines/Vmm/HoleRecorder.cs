using VirtBench.Machine;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// Collects the virtualization holes of a run, one per guest address: the instruction, what the guest saw and what it
/// should have seen (at the first occurrence), and how many times it happened. Each occurrence counts one
/// <see cref="Event.VirtualizationHole"/>.
/// </summary>
internal sealed class HoleRecorder(GuestSymbols symbols, Counters counters)
{
    private readonly Dictionary<uint, Hole> _holes = [];

    private sealed class Hole(string instruction, string saw, string shouldHaveSeen)
    {
        public readonly string Instruction = instruction, Saw = saw, ShouldHaveSeen = shouldHaveSeen;
        public ulong Count = 1;
    }

    /// <summary>Counts another occurrence at an address already recorded; false for a new address (then call <see cref="Add"/>).</summary>
    public bool CountRepeat(uint address)
    {
        if (!_holes.TryGetValue(address, out var hole)) return false;
        hole.Count++;
        counters.Add(Event.VirtualizationHole);
        return true;
    }

    /// <summary>Records the first occurrence at an address.</summary>
    public void Add(uint address, string instruction, string saw, string shouldHaveSeen)
    {
        _holes.Add(address, new Hole(instruction, saw, shouldHaveSeen));
        counters.Add(Event.VirtualizationHole);
    }

    /// <summary>Takes back the last occurrence at an address (it faulted instead of running: it will run again).</summary>
    public void Withdraw(uint address)
    {
        if (!_holes.TryGetValue(address, out var hole)) return;
        counters.Raw[(int)Event.VirtualizationHole]--;
        if (--hole.Count == 0) _holes.Remove(address);
    }

    /// <summary>The holes, by address.</summary>
    public IReadOnlyList<VirtualizationHole> Holes =>
        _holes.OrderBy(h => h.Key)
            .Select(h => new VirtualizationHole(h.Key, symbols.Describe(h.Key), h.Value.Instruction, h.Value.Saw, h.Value.ShouldHaveSeen, h.Value.Count))
            .ToList();
}
