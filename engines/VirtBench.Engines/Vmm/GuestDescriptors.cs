using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The guest's own descriptor tables, read through its virtual GDTR and LDTR as the guest's CPU would read them
/// (the real GDT the CPU uses is the VMM's). For emulating descriptor loads and queries at the guest's privilege level.
/// </summary>
public sealed class GuestDescriptors(VirtualCpu vcpu)
{
    /// <summary>How reading a descriptor ended.</summary>
    public enum ReadStatus
    {
        /// <summary>Read.</summary>
        Ok,
        /// <summary>Null selector, or beyond the table's limit (or an LDT selector with no LDT).</summary>
        OutsideTable,
        /// <summary>The table itself is not mapped for the guest (a guest page fault).</summary>
        PageFault,
    }

    /// <summary>Reads the descriptor a selector names; <paramref name="failure"/> holds the guest fault for <see cref="ReadStatus.PageFault"/>.</summary>
    public ReadStatus TryRead(ushort selector, out uint low, out uint high, out GuestTranslation failure)
    {
        low = high = 0;
        failure = default;
        if ((selector & 0xFFFC) == 0) return ReadStatus.OutsideTable;
        if (!TableOf(selector, out uint tableBase, out uint limit)) return ReadStatus.OutsideTable;
        uint index = (uint)selector & ~7u;
        if (index + 7 > limit) return ReadStatus.OutsideTable;
        var memory = vcpu.Memory;
        if (!memory.TryRead(tableBase + index, 4, false, out low, out failure) ||
            !memory.TryRead(tableBase + index + 4, 4, false, out high, out failure)) return ReadStatus.PageFault;
        return ReadStatus.Ok;
    }

    /// <summary>The segment cache a guest selector describes (no checks), or false if it cannot be read.</summary>
    public bool TryDescribe(ushort selector, out Segment segment)
    {
        segment = default;
        if (TryRead(selector, out uint low, out uint high, out _) != ReadStatus.Ok) return false;
        segment = Segment.FromDescriptor(selector, low, high);
        return true;
    }

    /// <summary>
    /// lar (0), lsl (1), verr (2) or verw (3) against the guest's tables at guest privilege level <paramref name="cpl"/>.
    /// Null when reading the table faulted (<paramref name="failure"/>); else whether the selector passes, with the result.
    /// </summary>
    public bool? Query(ushort selector, int kind, int cpl, out uint result, out GuestTranslation failure)
    {
        result = 0;
        var status = TryRead(selector, out uint low, out uint high, out failure);
        if (status == ReadStatus.PageFault) return null;
        return status == ReadStatus.Ok && Cpu.EvaluateDescriptorQuery(selector, low, high, kind, cpl, out result);
    }

    /// <summary>Sets the busy bit of a TSS descriptor in the guest's GDT, as ltr does.</summary>
    public bool MarkBusy(ushort selector, uint high) =>
        vcpu.Memory.TryWrite(vcpu.Gdtr.Base + ((uint)selector & ~7u) + 4, 4, false, high | 0x200, out _);

    private bool TableOf(ushort selector, out uint tableBase, out uint limit)
    {
        if ((selector & 4) != 0)
        {
            var ldt = vcpu.Ldtr;
            (tableBase, limit) = (ldt.Base, ldt.Limit);
            return ldt.Usable;
        }
        (tableBase, limit) = (vcpu.Gdtr.Base, vcpu.Gdtr.Limit);
        return true;
    }
}
