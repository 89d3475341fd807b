using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.BinaryTranslation.Decoding;
using VirtBench.Engines.BinaryTranslation.Translation;
using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.BinaryTranslation.Runtime;

/// <summary>
/// Where the guest goes when the VMM lets it go on: its kernel into translated code (found, or translated now), its
/// user code directly at ring 3. Entering translated code counts a <see cref="Event.BtDispatch"/> and loads the VMM's
/// %gs (keeping the guest's); leaving it for user mode gives the guest its %gs back. A kernel EIP whose code cannot be
/// fetched is the guest's fault there, reflected as its CPU would raise it.
/// </summary>
internal sealed class Dispatcher(DeprivilegedVmm vmm, TranslationCache cache, TranslatorData data, UnitDecoder decoder, Translator translator)
{
    private const int MaxFetchFaults = 8;

    private readonly Cpu _cpu = vmm.Cpu;
    private readonly Counters _counters = vmm.Counters;

    /// <summary>Continues the guest at <paramref name="eip"/> in the ring its CS says: its kernel (real ring 1) translated, anything else directly.</summary>
    public void ContinueAt(uint eip)
    {
        int ring = _cpu.Segment(SegReg.Cs).Selector & 3;
        if (ring == GuestRings.KernelRing)
        {
            EnterKernelAt(eip);
            return;
        }
        if (_cpu.InTranslationCache)
        {
            _cpu.LeaveTranslationCache(eip);
            _cpu.ForceCpl(ring);   // in the translation cache, loading CS did not change CPL
            RestoreGuestGs(ring);
        }
        else _cpu.Eip = eip;
    }

    /// <summary>
    /// Resumes translated code at <paramref name="address"/> (the guest is where the translation says). %gs stays as the
    /// code there expects it (the guest's, inside the run of an instruction that uses %gs), unless translated code is
    /// entered from outside.
    /// </summary>
    public void ResumeAt(uint address)
    {
        if (!_cpu.InTranslationCache)
        {
            _cpu.EnterTranslationCache(address);
            UseVmmGs();
        }
        else _cpu.Eip = address;
        _counters.Add(Event.BtDispatch);
    }

    /// <summary>
    /// Runs guest kernel code from <paramref name="eip"/>: at its translation (made now if there is none). If the code
    /// cannot be fetched, the guest's fault is reflected and its handler runs instead.
    /// </summary>
    public void EnterKernelAt(uint eip)
    {
        for (int attempt = 0; attempt < MaxFetchFaults; attempt++)
        {
            if (TryFind(eip, unitStart: false, out _, out uint address, out var fault))
            {
                ResumeAt(address);
                UseVmmGs();   // a guest instruction starts there: translated code's %gs
                return;
            }
            vmm.Reflect(fault, eip, 0);
            if (_cpu.Outcome is not null) return;   // the guest could not take it (triple fault)
            eip = _cpu.Eip;
        }
        // A handler that keeps faulting on its own fetch: let the lookup routine's miss callout try again (the VMM's
        // no-progress guard stops a guest that never gets anywhere).
        data.Write(TranslatorData.LookupTarget, eip);
        ResumeAt(cache.Routine.Address + (uint)cache.Routine.Map.First(e => e.Site >= 0).Offset);
        UseVmmGs();
    }

    /// <summary>
    /// The translation of the guest kernel instruction at <paramref name="eip"/>, translating a unit from there if none
    /// holds it (with <paramref name="unitStart"/>, for a branch target, if none starts there: units start at branch
    /// targets, so that each one's entries count the runs of its code). False with the guest's fault if its code cannot
    /// be fetched.
    /// </summary>
    public bool TryFind(uint eip, bool unitStart, out TranslationUnit unit, out uint address, out GuestFault fault)
    {
        fault = default;
        var cs = _cpu.Segment(SegReg.Cs);
        uint linear = cs.Base + eip;
        if (cache.TryEntry(linear, unitStart, out unit, out address)) return true;
        if (eip > cs.Limit && !HypervisorRegion.Contains(linear))
        {
            fault = new GuestFault(Vectors.GP, 0);
            return false;
        }
        var guest = decoder.Decode(cs.Base, eip, out uint unfetchable);
        if (guest is null)
        {
            fault = FetchFault(unfetchable);
            return false;
        }
        unit = Install(guest, linear);
        address = unit.Address;
        return true;
    }

    /// <summary>Translates the unit at <paramref name="linear"/> again (adaptive translation), or null if its code cannot be fetched now.</summary>
    public TranslationUnit? Retranslate(TranslationUnit unit)
    {
        var guest = decoder.Decode(unit.Linear - unit.Eip, unit.Eip, out _);
        return guest is null ? null : Install(guest, unit.Linear);
    }

    /// <summary>Translates, encodes and installs a unit (flushing the cache first if it is full).</summary>
    private TranslationUnit Install(GuestUnit guest, uint linear)
    {
        var code = translator.Translate(guest, linear);
        var encoded = code.Encode(cache.Next);
        if (!cache.Fits(encoded.Code.Length))
        {
            cache.Flush();
            encoded = code.Encode(cache.Next);
        }
        _counters.Add(Event.BtUnitTranslated);
        _counters.Add(Event.BtInstructionTranslated, (ulong)guest.Instructions.Length);
        return cache.Install(encoded, guest, linear);
    }

    /// <summary>The fault of fetching at <paramref name="linear"/> at the guest's ring 0.</summary>
    private GuestFault FetchFault(uint linear)
    {
        var memory = vmm.Virtual.Memory;
        if (HypervisorRegion.Contains(linear)) return HypervisorRegion.GuestFaultFor(memory, linear, MemoryAccess.Execute, user: false);
        var t = memory.Translate(linear, MemoryAccess.Execute, user: false, setAccessedDirty: false);
        // A page beyond guest RAM is refused as if the guest's own entry denied it (see docs/vmm.md).
        uint error = t.Status == GuestTranslationStatus.PageFault ? t.ErrorCode : 1;
        return new GuestFault(Vectors.PF, error, linear);
    }

    /// <summary>The VMM's %gs for translated code; the guest's (the one it had, e.g. in user mode) kept in the VMM's data.</summary>
    public void UseVmmGs()
    {
        ushort selector = _cpu.Segment(SegReg.Gs).Selector;
        if (selector == TranslatorData.Selector) return;
        data.Write(TranslatorData.GuestGs, selector);
        _cpu.LoadSegmentUnchecked(SegReg.Gs, TranslatorData.Selector);
    }

    /// <summary>
    /// The guest's own %gs back in the real register for code that runs directly at <paramref name="ring"/>; null if it
    /// names a segment that ring may not use (as the CPU does to data segments on a return to an outer ring).
    /// </summary>
    private void RestoreGuestGs(int ring)
    {
        ushort selector = (ushort)data.Read(TranslatorData.GuestGs);
        if ((selector & 0xFFFC) == 0 || !_cpu.LoadSegmentUnchecked(SegReg.Gs, selector))
        {
            _cpu.LoadSegmentCache(SegReg.Gs, Segment.Null(0));
            return;
        }
        var gs = _cpu.Segment(SegReg.Gs);
        if (gs.Usable && (!gs.IsCode || !gs.IsConforming) && gs.Dpl < ring) _cpu.LoadSegmentCache(SegReg.Gs, Segment.Null(0));
    }
}
