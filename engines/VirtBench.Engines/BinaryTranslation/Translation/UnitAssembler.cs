using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Machine;

namespace VirtBench.Engines.BinaryTranslation.Translation;

/// <summary>
/// Builds one unit's translation: Iced's <see cref="Assembler"/> for the instructions, plus what the VMM must know
/// about each (the guest instruction it stands for and the guest's state before it), the callouts, the exits with
/// their stubs and the probes. <see cref="Encode"/> re-encodes the whole with Iced's <see cref="BlockEncoder"/> at
/// its address in the translation cache. Branches are near (rel32) and never resized, so a unit's length does not
/// depend on where it lands, and an exit's jump can be patched in place.
/// </summary>
internal sealed class UnitAssembler
{
    private readonly List<Note> _notes = [];
    private readonly List<CalloutSite> _sites = [];
    private readonly List<int> _resumeAt = [];
    private readonly List<PendingExit> _exits = [];
    private readonly List<(int Instruction, Event? Counted)> _probes = [];
    private readonly List<int> _instructionStarts = [];
    private bool _afterSti;

    /// <summary>The assembler the translations emit into (branches near unless given as short).</summary>
    public Assembler A { get; } = new(32) { PreferShortBranch = false };

    private int Count => A.Instructions.Count;

    /// <summary>Starts the translation of the next guest instruction.</summary>
    public void BeginGuestInstruction() => _instructionStarts.Add(Count);

    /// <summary>
    /// Describes the instructions emitted since the last note: they belong to the guest instruction at
    /// <paramref name="eip"/> and the guest's state before them is <paramref name="role"/>.
    /// </summary>
    public void At(uint eip, TcRole role, Register restore = Register.None) => Describe(eip, role, restore, site: -1);

    /// <summary>The next boundary follows an in-TC sti (interrupts wait one more instruction if it set IF).</summary>
    public void FollowsSti() => _afterSti = true;

    /// <summary>Counts each retirement of the last instruction emitted as <paramref name="counted"/>.</summary>
    public void Probe(Event counted) => _probes.Add((Count - 1, counted));

    /// <summary>
    /// Emits a callout (<c>ud2</c>) for <paramref name="site"/>, the guest's state there being its state at
    /// <paramref name="eip"/> (unless <paramref name="role"/> says otherwise). With <paramref name="fallsThrough"/>, the
    /// guest continues with the next instruction emitted (see <see cref="CalloutSite.Resume"/>).
    /// </summary>
    public void Callout(CalloutSite site, uint eip, bool fallsThrough, TcRole role = TcRole.Boundary)
    {
        EnsureNoted();
        A.ud2();
        Describe(eip, role, Register.None, _sites.Count);
        _sites.Add(site);
        _resumeAt.Add(fallsThrough ? Count : CalloutSite.Dispatch);
    }

    /// <summary>The last callout resumes at the next instruction emitted (past a path it does not take).</summary>
    public void ResumeHere() => _resumeAt[^1] = Count;

    /// <summary>
    /// Emits a direct branch out of the unit (<paramref name="jump"/>: jmp or jcc rel32) to the guest EIP
    /// <paramref name="target"/>, through a stub until it is chained. The guest's state before the jump is its state
    /// at <paramref name="eip"/>.
    /// </summary>
    public void Exit(Code jump, uint target, uint eip)
    {
        EnsureNoted();
        var stub = A.CreateLabel();
        A.AddInstruction(Instruction.CreateBranch(jump, stub.Id));
        At(eip, TcRole.Boundary);
        _exits.Add(new PendingExit(target, Count - 1, stub));
    }

    /// <summary>Counts each entry into the unit at its start (a probe on its first instruction).</summary>
    public void ProbeUnitEntry() => _probes.Add((0, null));

    /// <summary>Re-encodes the translation at machine address <paramref name="address"/>.</summary>
    public EncodedUnit Encode(uint address)
    {
        EmitStubs();
        var writer = new Bytes();
        var block = new InstructionBlock(writer, A.Instructions.ToList(), address);
        if (!BlockEncoder.TryEncode(32, block, out string? error, out var result, BlockEncoderOptions.DontFixBranches | BlockEncoderOptions.ReturnNewInstructionOffsets))
            throw new InvalidOperationException($"the translator's code does not encode: {error}");
        uint[] offsets = result.NewInstructionOffsets;
        int length = writer.Data.Count;
        int End(int instruction) => instruction + 1 < offsets.Length ? (int)offsets[instruction + 1] : length;

        var map = _notes.Select((n, i) => new TcMapEntry((ushort)offsets[i], n.Eip, n.Role, n.Restore, (short)n.Site, n.AfterSti)).ToArray();
        var sites = _sites.Select((s, i) => _resumeAt[i] == CalloutSite.Dispatch ? s : s with { Resume = (int)offsets[_resumeAt[i]] }).ToArray();
        var exits = _exits.Select(e => new UnitExit(e.Target, End(e.Jump), (int)offsets[e.StubInstruction])).ToArray();
        var probes = _probes.Select(p => (address + offsets[p.Instruction], p.Counted)).ToArray();
        var starts = _instructionStarts.Select(i => (int)offsets[i]).ToArray();
        return new EncodedUnit(writer.Data.ToArray(), map, sites, exits, probes, starts);
    }

    /// <summary>The stubs of the exits, after the unit's code: each a callout that chains its exit.</summary>
    private void EmitStubs()
    {
        for (int i = 0; i < _exits.Count; i++)
        {
            var exit = _exits[i];
            if (exit.StubInstruction >= 0) continue;
            var stub = exit.Stub;
            A.Label(ref stub);
            _exits[i] = exit with { StubInstruction = Count };
            Callout(new CalloutSite(CalloutKind.Exit, exit.Target, default, Event.BtChainPatch, Exit: i), exit.Target, fallsThrough: false);
        }
    }

    private void Describe(uint eip, TcRole role, Register restore, int site)
    {
        bool afterSti = _afterSti && role != TcRole.Inside;
        if (afterSti) _afterSti = false;
        while (_notes.Count < Count) _notes.Add(new Note(eip, role, restore, site, afterSti));
    }

    /// <summary>Every instruction must be described (<see cref="At"/>) before a callout or exit follows it.</summary>
    private void EnsureNoted()
    {
        if (_notes.Count != Count) throw new InvalidOperationException($"translator defect: {Count - _notes.Count} translated instructions are not in the map");
    }

    private readonly record struct Note(uint Eip, TcRole Role, Register Restore, int Site, bool AfterSti);

    private readonly record struct PendingExit(uint Target, int Jump, Label Stub, int StubInstruction = -1);

    private sealed class Bytes : CodeWriter
    {
        public readonly List<byte> Data = [];
        public override void WriteByte(byte value) => Data.Add(value);
    }
}

/// <summary>A unit's translation, encoded for its address: bytes, map, callouts, exits, probes (machine address, event or null for the unit's entry count), and each guest instruction's offset.</summary>
internal sealed record EncodedUnit(byte[] Code, TcMapEntry[] Map, CalloutSite[] Sites, UnitExit[] Exits, (uint Address, Event? Counted)[] Probes, int[] InstructionOffsets);
