using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.Vmm;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.BinaryTranslation.Decoding;

/// <summary>
/// Decodes a translation unit's guest instructions with Iced: from a guest EIP, up to <see cref="MaxInstructions"/>
/// instructions or up to and including a terminating one (a control transfer), reading the bytes through the guest's
/// own page tables as its kernel fetches them, and noting the guest-physical bytes they came from (the pages whose
/// writes must invalidate the translation). The unit stops before an instruction it cannot fetch (that one faults
/// when the guest gets there, as on the bare machine) and after one that does not decode (the guest's #UD).
/// </summary>
internal sealed class UnitDecoder
{
    /// <summary>Most guest instructions in a unit (VMware's translator used 12).</summary>
    public const int MaxInstructions = 12;

    private readonly GuestAddressSpace _memory;
    private readonly InstructionBytes _reader = new();
    private readonly Decoder _decoder;

    /// <summary>A decoder over the guest's address space.</summary>
    public UnitDecoder(GuestAddressSpace memory)
    {
        _memory = memory;
        _decoder = Decoder.Create(32, _reader);
    }

    /// <summary>
    /// Decodes the unit starting at guest EIP <paramref name="eip"/> (linear: <paramref name="csBase"/> + EIP). Null if
    /// not even its first instruction can be fetched: <paramref name="unfetchable"/> is then the linear address that
    /// could not be read.
    /// </summary>
    public GuestUnit? Decode(uint csBase, uint eip, out uint unfetchable)
    {
        var instructions = new List<Instruction>(MaxInstructions);
        var encodings = new List<byte[]>(MaxInstructions);
        var code = new List<GuestCodeRange>();
        unfetchable = 0;
        uint next = eip;
        while (instructions.Count < MaxInstructions)
        {
            uint linear = csBase + next;
            if (!TryFetch(linear, next, out var instruction, out uint failedAt))
            {
                if (instructions.Count == 0) { unfetchable = failedAt; return null; }
                break;
            }
            if (!Record(linear, instruction.Length, code))
            {
                if (instructions.Count == 0) { unfetchable = linear; return null; }
                break;
            }
            instructions.Add(instruction);
            encodings.Add(_reader.Data[..instruction.Length]);
            next = (uint)instruction.NextIP;
            if (instruction.Code == Code.INVALID || Terminates(instruction)) break;
        }
        return new GuestUnit([.. instructions], [.. encodings], [.. code], next);
    }

    /// <summary>True if a unit ends after this instruction: any control transfer (the translator then knows every successor).</summary>
    public static bool Terminates(in Instruction i) =>
        i.FlowControl != FlowControl.Next || i.Mnemonic is Mnemonic.Sysenter or Mnemonic.Sysexit or Mnemonic.Hlt;

    /// <summary>
    /// Reads and decodes one instruction. False if its bytes cannot all be read (<paramref name="failedAt"/>: the first
    /// linear address that cannot) or reach the hypervisor region. Bytes that do not form an instruction decode as
    /// <see cref="Code.INVALID"/>, with their length as far as Iced read them (at least one).
    /// </summary>
    private bool TryFetch(uint linear, uint eip, out Instruction instruction, out uint failedAt)
    {
        instruction = default;
        failedAt = linear;
        if (HypervisorRegion.Contains(linear)) return false;
        int readable = _memory.ReadBytes(linear, _reader.Data, user: false);
        _reader.Reset(readable);
        _decoder.IP = eip;
        _decoder.Decode(out instruction);
        if (_decoder.LastError == DecoderError.NoMoreBytes)
        {
            failedAt = linear + (uint)readable;
            return false;
        }
        if (HypervisorRegion.Contains(linear + (uint)instruction.Length - 1)) { failedAt = HypervisorRegion.Base; return false; }
        return true;
    }

    /// <summary>Notes the guest-physical bytes of an instruction (false if a page of it has no guest RAM behind it).</summary>
    private bool Record(uint linear, int length, List<GuestCodeRange> code)
    {
        uint end = linear + (uint)length;
        for (uint at = linear; at != end;)
        {
            uint pageEnd = (at & ~0xFFFu) + 4096;
            uint stop = end - at <= pageEnd - at ? end : pageEnd;
            // The translator's read of the code is the guest's fetch: it sets the accessed bits, as fetching does.
            var t = _memory.Translate(at, MemoryAccess.Execute, user: false);
            if (!t.Ok) return false;
            var range = new GuestCodeRange(at & ~0xFFFu, t.Physical >> 12, (ushort)(at & 0xFFF), (ushort)(stop - (at & ~0xFFFu)));
            if (code.Count > 0 && code[^1].LinearPage == range.LinearPage && code[^1].End == range.Start)
                code[^1] = code[^1] with { End = range.End };
            else code.Add(range);
            at = stop;
        }
        return true;
    }
}

/// <summary>The guest side of a translation unit.</summary>
/// <param name="Instructions">The instructions (IP = guest EIP); the last one may be <see cref="Code.INVALID"/> (the guest's #UD).</param>
/// <param name="Encodings">Each instruction's bytes.</param>
/// <param name="Code">The guest bytes they came from, by page.</param>
/// <param name="NextEip">The EIP after the last instruction (where a unit that does not end in a branch continues).</param>
internal sealed record GuestUnit(Instruction[] Instructions, byte[][] Encodings, GuestCodeRange[] Code, uint NextEip);
