using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.BinaryTranslation.Runtime;

/// <summary>
/// The VMM's side of the callouts in translated code, a switch over <see cref="CalloutKind"/>: emulate the privileged
/// instruction on the virtual CPU (one <c>BtCallout*</c> of its kind plus its emulation), deliver a software
/// interrupt, chain an exit to its target's translation, fill the lookup table after a miss, let a held interrupt in,
/// take the guest's %gs back, perform an adapted page-table write. The guest's state at a callout is exact, so a fault
/// the emulation raises is the guest instruction's.
/// </summary>
internal sealed class Callouts(DeprivilegedVmm vmm, TranslationCache cache, TranslatorData data, Dispatcher dispatcher)
{
    private readonly Cpu _cpu = vmm.Cpu;
    private readonly Counters _counters = vmm.Counters;

    /// <summary>Handles the callout <paramref name="site"/> of <paramref name="unit"/>.</summary>
    public void Handle(TranslationUnit unit, CalloutSite site)
    {
        switch (site.Kind)
        {
            case CalloutKind.Emulate:
                Emulate(unit, site);
                break;
            case CalloutKind.SoftwareInterrupt:
                SoftwareInterrupt(site);
                break;
            case CalloutKind.InvalidOpcode:
                vmm.Reflect(new GuestFault(Vectors.UD, null), site.GuestEip, 0);
                dispatcher.ContinueAt(_cpu.Eip);
                break;
            case CalloutKind.Exit:
                Chain(unit, site);
                break;
            case CalloutKind.LookupMiss:
                LookupMiss(site);
                break;
            case CalloutKind.InterruptWindow:
                _counters.Add(site.Counted);
                FallThrough(unit, site);   // leaving the VMM unmasks the held interrupt, which comes at this boundary
                break;
            case CalloutKind.GsRestore:
                _counters.Add(site.Counted);
                dispatcher.UseVmmGs();     // takes the guest's %gs (maybe just loaded) back into the VMM's data
                FallThrough(unit, site);
                break;
            case CalloutKind.PageTableWrite:
                PageTableWrite(unit, site);
                break;
        }
    }

    private void Emulate(TranslationUnit unit, CalloutSite site)
    {
        _counters.Add(site.Counted);
        var outcome = vmm.Emulate(site.Guest, site.GuestEip, 0, errorCode: 0);
        switch (outcome.Kind)
        {
            case VmmOutcomeKind.Continue when outcome.NextEip == (uint)site.Guest.NextIP && site.Resume != CalloutSite.Dispatch:
                FallThrough(unit, site);
                break;
            case VmmOutcomeKind.Continue:
                dispatcher.ContinueAt(outcome.NextEip);
                break;
            case VmmOutcomeKind.Reflected:
                dispatcher.ContinueAt(_cpu.Eip);
                break;
        }
    }

    /// <summary>int n, int3, into from the guest kernel: through its IDT, as the CPU would (into only with OF set).</summary>
    private void SoftwareInterrupt(CalloutSite site)
    {
        _counters.Add(site.Counted);
        var i = site.Guest;
        uint next = (uint)i.NextIP;
        if (i.Mnemonic == Mnemonic.Into && (_cpu.Eflags & (uint)FlagBits.OF) == 0)
        {
            dispatcher.ContinueAt(next);
            return;
        }
        var (vector, kind) = i.Mnemonic switch
        {
            Mnemonic.Int => (i.Immediate8, ExceptionKind.SoftwareInterrupt),
            Mnemonic.Int3 => (Vectors.BP, ExceptionKind.Trap),
            _ => (Vectors.OF, ExceptionKind.Trap),
        };
        vmm.Reflection.Reflect(vector, kind, null, site.GuestEip, next, 0);
        dispatcher.ContinueAt(_cpu.Eip);
    }

    /// <summary>An exit's first run: find or translate its target, and patch the exit's jump to go there directly from now on.</summary>
    private void Chain(TranslationUnit unit, CalloutSite site)
    {
        if (!dispatcher.TryFind(site.GuestEip, unitStart: true, out var target, out uint address, out _))
        {
            dispatcher.EnterKernelAt(site.GuestEip);   // reflects the fault of fetching there
            return;
        }
        if (unit.Alive) cache.Link(unit, site.Exit, target, address);
        dispatcher.ResumeAt(address);
    }

    /// <summary>An indirect branch missed in the lookup table (a callout into the VMM's dispatcher): find or translate its target and fill the entry.</summary>
    private void LookupMiss(CalloutSite site)
    {
        _counters.Add(site.Counted);
        uint eip = data.Read(TranslatorData.LookupTarget);
        if (!dispatcher.TryFind(eip, unitStart: true, out var target, out uint address, out _))
        {
            dispatcher.EnterKernelAt(eip);
            return;
        }
        cache.SetLookup(eip, target, address);
        dispatcher.ResumeAt(address);
    }

    /// <summary>An adapted instruction: the VMM performs its write through the guest's tables (the shadows follow), with no fault.</summary>
    private void PageTableWrite(TranslationUnit unit, CalloutSite site)
    {
        _counters.Add(site.Counted);
        var result = vmm.Emulator.EmulateWrite(site.Guest, 0);
        switch (result.Status)
        {
            case EmulationStatus.Completed when result.NextEip == (uint)site.Guest.NextIP:
                FallThrough(unit, site);
                break;
            case EmulationStatus.Completed:
                dispatcher.ContinueAt(result.NextEip);
                break;
            case EmulationStatus.Faulted:
                vmm.ReflectException(result.Fault, site.GuestEip, 0);
                dispatcher.ContinueAt(_cpu.Eip);
                break;
            default:
                vmm.Stop($"cannot emulate '{site.Guest}' at EIP 0x{site.GuestEip:x8}, an adapted page-table write");
                break;
        }
    }

    /// <summary>
    /// Goes on after the callout in its unit; if the unit is gone (the callout invalidated it), at the guest
    /// instruction after it, translated afresh.
    /// </summary>
    private void FallThrough(TranslationUnit unit, CalloutSite site)
    {
        if (unit.Alive) dispatcher.ResumeAt(unit.Address + (uint)site.Resume);
        else dispatcher.ContinueAt(site.Kind is CalloutKind.InterruptWindow or CalloutKind.GsRestore ? site.GuestEip : (uint)site.Guest.NextIP);
    }
}
