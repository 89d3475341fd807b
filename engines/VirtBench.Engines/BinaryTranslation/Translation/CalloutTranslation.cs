using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Machine;

namespace VirtBench.Engines.BinaryTranslation.Translation;

/// <summary>
/// Instructions the VMM performs: a <c>ud2</c> that the VMM recognizes by its address in the translation cache (a
/// callout), with the guest's state at the instruction. Privileged and sensitive instructions are emulated on the
/// virtual CPU and counted by kind; software interrupts are delivered through the guest's IDT; bytes that do not
/// decode give the guest its #UD; an adaptive translation performs a write to a traced page table itself.
/// </summary>
internal static class CalloutTranslation
{
    /// <summary>A privileged or sensitive instruction, emulated; the unit goes on after it unless it transfers control.</summary>
    public static void Emulated(UnitAssembler u, in Instruction i, Event counted) =>
        u.Callout(new CalloutSite(CalloutKind.Emulate, (uint)i.IP, i, counted), (uint)i.IP, InstructionFamily.FallsThrough(i));

    /// <summary>int n, int3, into.</summary>
    public static void SoftwareInterrupt(UnitAssembler u, in Instruction i) =>
        u.Callout(new CalloutSite(CalloutKind.SoftwareInterrupt, (uint)i.IP, i, Event.BtCalloutOther), (uint)i.IP, fallsThrough: false);

    /// <summary>Bytes that do not decode.</summary>
    public static void Invalid(UnitAssembler u, in Instruction i) =>
        u.Callout(new CalloutSite(CalloutKind.InvalidOpcode, (uint)i.IP, i, Event.TrapException), (uint)i.IP, fallsThrough: false);

    /// <summary>An instruction that kept faulting on traced page tables (adaptive translation): the VMM does its write.</summary>
    public static void PageTableWrite(UnitAssembler u, in Instruction i) =>
        u.Callout(new CalloutSite(CalloutKind.PageTableWrite, (uint)i.IP, i, Event.BtCalloutPageTableWrite), (uint)i.IP, fallsThrough: true);
}
