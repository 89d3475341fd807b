using VirtBench.Engines.Vmm;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.BinaryTranslation.Cache;

/// <summary>
/// The guest pages that hold translated code, and the units translated from each. Every such page is write-traced
/// (<see cref="ShadowPageTables.TraceOther"/>), so the guest's writes to it reach the VMM, which drops the units whose
/// bytes they touch. A unit is also stale when the guest maps its linear page elsewhere; that is checked where the
/// guest's TLB would see it (invlpg, a CR3 load, a paging-control change).
/// </summary>
internal sealed class CodePages(ShadowPageTables shadows)
{
    private readonly Dictionary<uint, List<TranslationUnit>> _byFrame = [];
    private readonly Dictionary<(uint LinearPage, uint Frame), List<TranslationUnit>> _byMapping = [];

    /// <summary>Records a unit's pages, tracing the frames not traced yet.</summary>
    public void Add(TranslationUnit unit)
    {
        foreach (var range in unit.Code)
        {
            if (!_byFrame.TryGetValue(range.Frame, out var units))
            {
                _byFrame[range.Frame] = units = [];
                shadows.TraceOther(range.Frame << 12);
            }
            if (!units.Contains(unit)) units.Add(unit);
            var key = (range.LinearPage, range.Frame);
            if (!_byMapping.TryGetValue(key, out var mapped)) _byMapping[key] = mapped = [];
            if (!mapped.Contains(unit)) mapped.Add(unit);
        }
    }

    /// <summary>Forgets a unit; a frame left without units is no longer traced for it.</summary>
    public void Remove(TranslationUnit unit)
    {
        foreach (var range in unit.Code)
        {
            if (_byFrame.TryGetValue(range.Frame, out var units) && units.Remove(unit) && units.Count == 0)
            {
                _byFrame.Remove(range.Frame);
                shadows.UntraceOther(range.Frame << 12);
            }
            var key = (range.LinearPage, range.Frame);
            if (_byMapping.TryGetValue(key, out var mapped) && mapped.Remove(unit) && mapped.Count == 0) _byMapping.Remove(key);
        }
    }

    /// <summary>The units whose guest bytes a write of [physical, physical+length) touches (within one page).</summary>
    public List<TranslationUnit> Overlapping(uint physical, int length)
    {
        var found = new List<TranslationUnit>();
        if (!_byFrame.TryGetValue(physical >> 12, out var units)) return found;
        foreach (var unit in units)
            if (unit.Code.Any(r => r.Overlaps(physical, length))) found.Add(unit);
        return found;
    }

    /// <summary>
    /// The units whose linear page the guest now maps to another frame (or not at all): of one page after invlpg
    /// (<paramref name="linear"/>), of every page after a CR3 load or a paging-control change (null).
    /// </summary>
    public List<TranslationUnit> Remapped(GuestAddressSpace memory, uint? linear)
    {
        var found = new List<TranslationUnit>();
        foreach (var ((page, frame), units) in _byMapping)
        {
            if (linear is uint one && one >> 12 != page >> 12) continue;
            var t = memory.Translate(page, MemoryAccess.Execute, user: false, setAccessedDirty: false);
            if (t.Ok && t.Physical >> 12 == frame) continue;
            foreach (var unit in units)
                if (!found.Contains(unit)) found.Add(unit);
        }
        return found;
    }

    /// <summary>Forgets every unit and stops tracing their frames.</summary>
    public void Clear()
    {
        foreach (uint frame in _byFrame.Keys) shadows.UntraceOther(frame << 12);
        _byFrame.Clear();
        _byMapping.Clear();
    }
}
