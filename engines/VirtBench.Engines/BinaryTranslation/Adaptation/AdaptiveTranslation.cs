namespace VirtBench.Engines.BinaryTranslation.Adaptation;

/// <summary>
/// Adaptive binary translation (Adams and Agesen, ASPLOS 2006, section 3.3): a kernel instruction that keeps faulting
/// on traced page tables is retranslated as a callout that performs the write and updates the shadows without a
/// fault. This keeps the count per guest instruction and the set of instructions adapted; the translator asks it
/// (<see cref="IsAdapted"/>). Turned off (<see cref="RunOptions.AdaptiveTranslation"/>), every such write stays a
/// tracing fault, so the difference can be measured.
/// </summary>
internal sealed class AdaptiveTranslation(bool enabled)
{
    /// <summary>Tracing faults of one instruction after which it is retranslated.</summary>
    public const int Threshold = 4;

    private readonly Dictionary<uint, int> _faults = [];
    private readonly HashSet<uint> _adapted = [];

    /// <summary>True if the instruction at this guest linear address is translated as a page-table-write callout.</summary>
    public bool IsAdapted(uint linear) => _adapted.Contains(linear);

    /// <summary>
    /// The IDENT copy of the instruction at <paramref name="linear"/> took a tracing fault on a page table: true if the
    /// unit holding the copy must be retranslated, because the instruction has now faulted often enough (from then on it
    /// is adapted), or because it was adapted already in another unit.
    /// </summary>
    public bool TracingFault(uint linear)
    {
        if (!enabled) return false;
        if (_adapted.Contains(linear)) return true;
        _faults.TryGetValue(linear, out int faults);
        if (++faults < Threshold)
        {
            _faults[linear] = faults;
            return false;
        }
        _faults.Remove(linear);
        _adapted.Add(linear);
        return true;
    }
}
