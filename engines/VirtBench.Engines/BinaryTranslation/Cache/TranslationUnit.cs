using Iced.Intel;

namespace VirtBench.Engines.BinaryTranslation.Cache;

/// <summary>
/// A translation unit: up to <see cref="Decoding.UnitDecoder.MaxInstructions"/> guest kernel instructions (or fewer,
/// up to a terminating one) and their translation in the translation cache, with the map from every translated
/// instruction back to the guest (<see cref="Map"/>), its callouts, its exits, the guest bytes it came from, and
/// the chained branches that come into it.
/// </summary>
internal sealed class TranslationUnit
{
    /// <summary>A unit, once its translation is written at <paramref name="address"/>.</summary>
    public TranslationUnit(int id, uint linear, uint eip, uint address, uint length, Instruction[] guest, int[] instructionOffsets,
        TcMapEntry[] map, CalloutSite[] sites, UnitExit[] exits, GuestCodeRange[] code, uint[] probes)
    {
        Id = id;
        Linear = linear;
        Eip = eip;
        Address = address;
        Length = length;
        Guest = guest;
        InstructionOffsets = instructionOffsets;
        Map = map;
        Sites = sites;
        Exits = exits;
        Code = code;
        Probes = probes;
    }

    /// <summary>Order of translation (for stable listings).</summary>
    public int Id { get; }

    /// <summary>Guest linear address of the first instruction.</summary>
    public uint Linear { get; }

    /// <summary>Guest EIP of the first instruction.</summary>
    public uint Eip { get; }

    /// <summary>Machine address of the translation.</summary>
    public uint Address { get; }

    /// <summary>Bytes of the translation.</summary>
    public uint Length { get; }

    /// <summary>The guest instructions (IP = guest EIP).</summary>
    public Instruction[] Guest { get; }

    /// <summary>For each guest instruction, the offset of its translation's first instruction.</summary>
    public int[] InstructionOffsets { get; }

    /// <summary>Every translated instruction, by offset.</summary>
    public TcMapEntry[] Map { get; }

    /// <summary>The callouts (indexed by <see cref="TcMapEntry.Site"/>).</summary>
    public CalloutSite[] Sites { get; }

    /// <summary>The direct branches out.</summary>
    public UnitExit[] Exits { get; }

    /// <summary>The guest bytes the unit was translated from, by page.</summary>
    public GuestCodeRange[] Code { get; }

    /// <summary>Machine addresses of the unit's execution probes.</summary>
    public uint[] Probes { get; }

    /// <summary>Times the unit was entered at its start (counted by a probe on its first instruction).</summary>
    public ulong[] Executions { get; } = new ulong[1];

    /// <summary>False once invalidated or replaced: nothing jumps to it any more.</summary>
    public bool Alive { get; set; } = true;

    /// <summary>Exits of other units chained into this one (unit, exit index).</summary>
    public List<(TranslationUnit From, int Exit)> Incoming { get; } = [];

    /// <summary>Lookup-table entries set to point into this unit (guest EIP, translation address).</summary>
    public List<(uint Eip, uint Address)> Lookups { get; } = [];

    /// <summary>The map entry of the translated instruction at <paramref name="address"/> (which must lie in the unit), or null.</summary>
    public TcMapEntry? EntryAt(uint address)
    {
        int lo = 0, hi = Map.Length - 1;
        uint offset = address - Address;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (Map[mid].Offset == offset) return Map[mid];
            if (Map[mid].Offset < offset) lo = mid + 1; else hi = mid - 1;
        }
        return null;
    }

    /// <summary>The index of the guest instruction at a guest EIP, or -1 if it is not one of the unit's.</summary>
    public int IndexOf(uint eip)
    {
        for (int i = 0; i < Guest.Length; i++)
            if ((uint)Guest[i].IP == eip) return i;
        return -1;
    }
}

/// <summary>Guest bytes a unit came from on one page: the linear page, the guest-physical frame, and the byte range in it.</summary>
internal readonly record struct GuestCodeRange(uint LinearPage, uint Frame, ushort Start, ushort End)
{
    /// <summary>True if a write of [physical, physical+length) touches these bytes.</summary>
    public bool Overlaps(uint physical, int length) =>
        physical >> 12 == Frame && (physical & 0xFFF) < End && (physical & 0xFFF) + (uint)length > Start;
}
