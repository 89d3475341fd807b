using Iced.Intel;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// Decodes the guest instruction at a guest linear address with Iced, reading its bytes through the guest's own
/// page tables (as a VMM must: the trapping instruction is known only by its address). One decoder and buffer,
/// reused: no allocation per trap.
/// </summary>
public sealed class GuestInstructionDecoder
{
    private readonly GuestAddressSpace _memory;
    private readonly InstructionBytes _buffer = new();
    private readonly Decoder _decoder;

    /// <summary>A decoder over the guest's address space.</summary>
    public GuestInstructionDecoder(GuestAddressSpace memory)
    {
        _memory = memory;
        _decoder = Decoder.Create(32, _buffer);
    }

    /// <summary>
    /// Decodes the instruction at <paramref name="linear"/> (whose EIP, the offset in CS, is <paramref name="eip"/>,
    /// so that <see cref="Instruction.IP"/> and <see cref="Instruction.NextIP"/> are EIP values) for an access by
    /// the given privilege class. False if its bytes cannot all be read or do not form an instruction.
    /// </summary>
    public bool TryDecode(uint linear, uint eip, bool user, out Instruction instruction)
    {
        _buffer.Reset(_memory.ReadBytes(linear, _buffer.Data, user));
        _decoder.IP = eip;
        _decoder.Decode(out instruction);
        return instruction.Code != Code.INVALID && _decoder.LastError == DecoderError.None;
    }
}
