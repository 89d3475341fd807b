using VirtBench.Engines.BinaryTranslation.Adaptation;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.BinaryTranslation.Runtime;

/// <summary>
/// Exceptions raised by translated code that are not callouts. A hidden page fault is filled and the translated
/// instruction restarts; a write to a traced page is emulated (the instruction decoded from the translation cache) and
/// execution goes on after it, and a page-table write that keeps faulting there is adapted; anything the guest must
/// see is rolled back to the guest instruction the translation stands for (<see cref="TcMapEntry"/>: its EIP, and a
/// borrowed register reloaded) and reflected there, as the bare machine would raise it.
/// </summary>
internal sealed class TranslatedFaults(DeprivilegedVmm vmm, TranslatorData data, Dispatcher dispatcher, TranslationCache cache, AdaptiveTranslation adaptation)
{
    private readonly Cpu _cpu = vmm.Cpu;
    private readonly Counters _counters = vmm.Counters;
    private readonly TranslatedInstructions _instructions = new(vmm.Pc.Memory);

    /// <summary>Handles exception <paramref name="e"/> raised by the translated instruction at <paramref name="entry"/> of <paramref name="unit"/>.</summary>
    public void Handle(in GuestException e, TranslationUnit unit, TcMapEntry entry)
    {
        switch (e)
        {
            case { Vector: Vectors.PF, Kind: ExceptionKind.Fault }:
                PageFault(e, unit, entry);
                break;
            case { Vector: Vectors.GP, Kind: ExceptionKind.Fault } when entry.Role == TcRole.Ident:
                PrivilegedCopy(e, unit, entry);
                break;
            default:
                _counters.Add(Event.TrapException);
                RollBack(entry);
                uint returnEip = e.Kind == ExceptionKind.Fault ? entry.GuestEip : NextGuestEip(unit, entry);
                vmm.Reflection.Reflect(e.Vector, e.Kind, e.ErrorCode, entry.GuestEip, returnEip, 0);
                dispatcher.ContinueAt(_cpu.Eip);
                break;
        }
    }

    private void PageFault(in GuestException e, TranslationUnit unit, TcMapEntry entry)
    {
        _counters.Add(Event.TrapPageFault);
        uint errorCode = e.ErrorCode ?? 0;
        var fault = vmm.Shadows.HandlePageFault(e.FaultAddress, errorCode);
        switch (fault.Kind)
        {
            case ShadowFaultKind.Hidden:
                dispatcher.ResumeAt(e.InstructionEip);
                return;
            case ShadowFaultKind.Guest:
                Reflect(new GuestFault(Vectors.PF, fault.ErrorCode, e.FaultAddress), entry);
                return;
            case ShadowFaultKind.HypervisorRegion:
                var access = (errorCode & 2) != 0 ? MemoryAccess.Write : MemoryAccess.Read;
                Reflect(HypervisorRegion.GuestFaultFor(vmm.Virtual.Memory, e.FaultAddress, access, user: false), entry);
                return;
        }
        bool decoded = _instructions.TryDecode(e.InstructionEip, out var instruction);
        var outcome = vmm.EmulateBlockedWrite(fault, decoded, instruction, entry.GuestEip, 0);
        switch (outcome.Kind)
        {
            case VmmOutcomeKind.Continue:
                bool adapt = entry.Role == TcRole.Ident && fault.Kind == ShadowFaultKind.TracedWrite && vmm.Shadows.IsPageTable(fault.Physical)
                             && adaptation.TracingFault(unit.Linear + (entry.GuestEip - unit.Eip));
                if (adapt) Adapt(unit);
                if (unit.Alive && !adapt) dispatcher.ResumeAt(outcome.NextEip);
                else dispatcher.ContinueAt(NextGuestEip(unit, entry));   // the unit is gone (e.g. the write changed its code)
                break;
            case VmmOutcomeKind.Retry:
                dispatcher.ResumeAt(e.InstructionEip);
                break;
            case VmmOutcomeKind.Reflected:
                dispatcher.ContinueAt(_cpu.Eip);
                break;
        }
    }

    /// <summary>
    /// A #GP of a copied instruction: one the VMM can emulate (a privileged instruction that was not known to be one,
    /// e.g. rdtsc under the guest's CR4.TSD) is emulated as trap-and-emulate would; else it is the guest's.
    /// </summary>
    private void PrivilegedCopy(in GuestException e, TranslationUnit unit, TcMapEntry entry)
    {
        if (!_instructions.TryDecode(e.InstructionEip, out var instruction))
        {
            vmm.Reflect(new GuestFault(Vectors.GP, e.ErrorCode), entry.GuestEip, 0);
            dispatcher.ContinueAt(_cpu.Eip);
            return;
        }
        var outcome = vmm.Emulate(instruction, entry.GuestEip, 0, e.ErrorCode ?? 0);
        switch (outcome.Kind)
        {
            case VmmOutcomeKind.Continue:
                _counters.Add(Event.TrapPrivilegedInstruction);
                if (unit.Alive) dispatcher.ResumeAt(outcome.NextEip);
                else dispatcher.ContinueAt(NextGuestEip(unit, entry));
                break;
            case VmmOutcomeKind.Reflected:
                _counters.Add(Event.TrapException);
                dispatcher.ContinueAt(_cpu.Eip);
                break;
        }
    }

    /// <summary>Reflects a fault of the guest instruction the translated one stands for (counted as a trap).</summary>
    private void Reflect(GuestFault fault, TcMapEntry entry)
    {
        RollBack(entry);
        vmm.ReflectException(fault, entry.GuestEip, 0);
        dispatcher.ContinueAt(_cpu.Eip);
    }

    /// <summary>The guest's registers at its instruction: a register the sequence borrowed comes back from its save slot.</summary>
    private void RollBack(TcMapEntry entry)
    {
        if (entry.Restore != Iced.Intel.Register.None)
            _cpu[(Reg)(entry.Restore - Iced.Intel.Register.EAX)] = data.Read(TranslatorData.Saved(entry.Restore));
    }

    /// <summary>The guest EIP after the instruction an entry stands for.</summary>
    private static uint NextGuestEip(TranslationUnit unit, TcMapEntry entry)
    {
        int index = unit.IndexOf(entry.GuestEip);
        return index < 0 ? entry.GuestEip : (uint)unit.Guest[index].NextIP;
    }

    /// <summary>Retranslates a unit with its page-table writer as a callout, and puts the new unit in its place.</summary>
    private void Adapt(TranslationUnit unit)
    {
        var replacement = dispatcher.Retranslate(unit);
        if (replacement is null || !unit.Alive) return;   // the cache was flushed to make room: nothing to replace
        cache.Replace(unit, replacement);
        _counters.Add(Event.BtAdaptiveRetranslation);
    }
}
