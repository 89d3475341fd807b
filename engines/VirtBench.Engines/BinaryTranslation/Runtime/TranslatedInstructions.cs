using Iced.Intel;
using VirtBench.Engines.Vmm;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.BinaryTranslation.Runtime;

/// <summary>
/// Decodes an instruction of the translation cache with Iced (IP = its machine address): the one a fault stopped at,
/// for the VMM to emulate it. One decoder and buffer, reused.
/// </summary>
internal sealed class TranslatedInstructions
{
    private readonly PhysicalMemory _memory;
    private readonly InstructionBytes _reader = new();
    private readonly Decoder _decoder;

    /// <summary>A decoder over machine memory.</summary>
    public TranslatedInstructions(PhysicalMemory memory)
    {
        _memory = memory;
        _decoder = Decoder.Create(32, _reader);
    }

    /// <summary>The instruction at machine address <paramref name="address"/>; false if it does not decode.</summary>
    public bool TryDecode(uint address, out Instruction instruction)
    {
        int length = (int)Math.Min(InstructionBytes.MaxLength, _memory.Size - address);
        _memory.View(address, length).CopyTo(_reader.Data);
        _reader.Reset(length);
        _decoder.IP = address;
        _decoder.Decode(out instruction);
        return instruction.Code != Code.INVALID;
    }
}
