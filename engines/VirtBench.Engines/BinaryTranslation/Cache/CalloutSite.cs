using Iced.Intel;
using VirtBench.Machine;

namespace VirtBench.Engines.BinaryTranslation.Cache;

/// <summary>Why translated code calls out to the VMM.</summary>
internal enum CalloutKind : byte
{
    /// <summary>A privileged or sensitive instruction the VMM emulates on the virtual CPU.</summary>
    Emulate,
    /// <summary>int n, int3 or into: delivered through the guest's IDT.</summary>
    SoftwareInterrupt,
    /// <summary>Bytes that do not decode: the guest's #UD.</summary>
    InvalidOpcode,
    /// <summary>A direct branch not chained yet: translate (or find) its target and patch the branch.</summary>
    Exit,
    /// <summary>An indirect branch whose target is not in the lookup table: find or make its translation, fill the entry.</summary>
    LookupMiss,
    /// <summary>In-TC sti or popf set the guest's IF while an interrupt was held: let it in.</summary>
    InterruptWindow,
    /// <summary>After an instruction that ran with the guest's %gs: take its (maybe new) %gs back, reload the VMM's.</summary>
    GsRestore,
    /// <summary>An adaptive translation: a write to a traced page table, performed by the VMM without a fault.</summary>
    PageTableWrite,
}

/// <summary>
/// A callout in a translation: a <c>ud2</c> whose #UD the VMM recognizes by its address. The guest's state there is
/// its state before <see cref="GuestEip"/> (after it, for <see cref="CalloutKind.InterruptWindow"/> and
/// <see cref="CalloutKind.GsRestore"/>, whose EIP is the next instruction's).
/// </summary>
/// <param name="Kind">What to do.</param>
/// <param name="GuestEip">The guest instruction concerned (for an exit: its target).</param>
/// <param name="Guest">The guest instruction, as decoded (IP = guest EIP), for emulation.</param>
/// <param name="Counted">The callout event counted (BtCallout*), or the trap for a guest fault.</param>
/// <param name="Resume">Offset in the unit to continue at when the instruction falls through, or <see cref="Dispatch"/>.</param>
/// <param name="Exit">For <see cref="CalloutKind.Exit"/>: the exit's index in the unit.</param>
internal sealed record CalloutSite(CalloutKind Kind, uint GuestEip, Instruction Guest, Event Counted, int Resume = CalloutSite.Dispatch, int Exit = -1)
{
    /// <summary>No resume offset: the guest continues wherever the callout leaves it (looked up, or translated).</summary>
    public const int Dispatch = -1;
}
