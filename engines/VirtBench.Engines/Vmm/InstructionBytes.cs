using Iced.Intel;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The bytes of one x86 instruction (at most 15), fed to Iced's decoder. A decoder keeps one and refills it per
/// instruction, so that decoding on a trap or a translation allocates nothing.
/// </summary>
internal sealed class InstructionBytes : CodeReader
{
    /// <summary>The longest x86 instruction.</summary>
    public const int MaxLength = 15;

    private int _length, _position;

    /// <summary>The buffer to fill before <see cref="Reset"/>.</summary>
    public byte[] Data { get; } = new byte[MaxLength];

    /// <summary>Makes the first <paramref name="length"/> bytes of <see cref="Data"/> the next instruction's.</summary>
    public void Reset(int length) => (_length, _position) = (length, 0);

    /// <inheritdoc />
    public override int ReadByte() => _position < _length ? Data[_position++] : -1;
}
