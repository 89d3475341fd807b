using Iced.Intel;

namespace VirtBench.Engines.BinaryTranslation.Cache;

/// <summary>What the state of the guest is just before an instruction of a translation runs.</summary>
internal enum TcRole : byte
{
    /// <summary>An IDENT copy of the guest instruction at the entry's EIP: same bytes, same effect, the guest's state before it.</summary>
    Ident,
    /// <summary>The guest's state at the entry's EIP (the start of a sequence or callout for that instruction, a jump or stub that continues there).</summary>
    Boundary,
    /// <summary>Inside a sequence: no guest instruction boundary. Interrupts wait for the next boundary.</summary>
    Inside,
}

/// <summary>
/// One instruction of a translation in the TC-to-guest map: where it is, which guest instruction it belongs to, and
/// what the guest's state is there. A fault inside translated code is reported at <see cref="GuestEip"/> with the
/// guest's registers: the sequences are built so that only their first access to guest memory can fault, before they
/// change anything the guest sees, except that a register they borrowed (<see cref="Restore"/>) comes back from its
/// save slot.
/// </summary>
/// <param name="Offset">Offset of the instruction in the unit's translation.</param>
/// <param name="GuestEip">The guest instruction (or, for an exit, the guest EIP the jump continues at).</param>
/// <param name="Role">The guest's state before it.</param>
/// <param name="Restore">A register to reload from its save slot if the instruction faults (or <see cref="Register.None"/>).</param>
/// <param name="Site">For a callout (a <c>ud2</c> the VMM recognizes by its address): the index of its site, else -1.</param>
/// <param name="AfterSti">A boundary right after an in-TC sti: interrupts wait one more guest instruction if that sti set IF.</param>
internal readonly record struct TcMapEntry(ushort Offset, uint GuestEip, TcRole Role, Register Restore = Register.None, short Site = -1, bool AfterSti = false)
{
    /// <summary>True if the guest's state before this instruction is the guest's at <see cref="GuestEip"/> (interrupts can be taken).</summary>
    public bool IsBoundary => Role != TcRole.Inside;
}
