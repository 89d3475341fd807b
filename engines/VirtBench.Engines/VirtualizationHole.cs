namespace VirtBench.Engines;

/// <summary>
/// A sensitive but unprivileged instruction that ran without trapping under a deprivileged guest kernel,
/// so the guest saw the real machine instead of its virtual one.
/// </summary>
/// <param name="GuestAddress">Linear address of the instruction.</param>
/// <param name="Location">The address described by the guest's symbols (e.g. <c>irq_save+0x1</c>).</param>
/// <param name="Instruction">The instruction, disassembled.</param>
/// <param name="GuestSaw">What the guest observed (first occurrence).</param>
/// <param name="ShouldHaveSeen">What it would have observed on a correct VMM (first occurrence).</param>
/// <param name="Count">How many times it executed.</param>
public sealed record VirtualizationHole(
    uint GuestAddress, string Location, string Instruction, string GuestSaw, string ShouldHaveSeen, ulong Count);
