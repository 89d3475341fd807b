using Iced.Intel;
using VirtBench.Machine.Memory;

namespace VirtBench.Machine.Cpu;

/// <summary>
/// Decoded blocks, indexed by the machine address of their first byte. A frame that holds decoded code is
/// flagged in <see cref="PhysicalMemory"/>; a write to it (self-modifying code, a loader, a VMM, DMA) takes the
/// slow path and invalidates the blocks whose bytes it touches, including the one executing, whose remaining
/// ops are made to stop. Data that shares a page with code therefore costs slow writes but no re-decoding.
/// </summary>
internal sealed unsafe class DecodeCache
{
    /// <summary>Longest block, in instructions.</summary>
    public const int MaxOps = 32;

    private sealed class CodePage
    {
        public readonly Block?[] At = new Block?[4096];
        public readonly List<Block> Blocks = [];
    }

    private readonly Cpu _cpu;
    private readonly PhysicalMemory _memory;
    private readonly CodePage?[] _pages;
    private readonly MachineCodeReader _reader;
    private readonly Decoder _decoder;
    private readonly Op[] _opScratch = new Op[MaxOps];
    private readonly Instruction[] _instructionScratch = new Instruction[MaxOps];

    public DecodeCache(Cpu cpu)
    {
        _cpu = cpu;
        _memory = cpu.Memory;
        _pages = new CodePage?[(_memory.Size + 4095) >> 12];
        _reader = new MachineCodeReader(_memory);
        _decoder = Decoder.Create(32, _reader, DecoderOptions.None);
        _memory.CodeWritten = InvalidateRange;
    }

    /// <summary>Blocks decoded so far (for diagnostics).</summary>
    public long BlocksDecoded { get; private set; }

    /// <summary>The cached block at a machine address for this EIP, or null.</summary>
    public Block? Lookup(uint machine, uint eip)
    {
        var page = _pages[machine >> 12];
        if (page is null) return null;
        var b = page.At[machine & 0xFFF];
        return b is not null && b.StartEip == eip ? b : null;
    }

    /// <summary>
    /// Decodes a block at a machine address. <paramref name="linear"/> is the linear address of the first byte
    /// (for an instruction that crosses into the next page), or null when fetching from the translation cache.
    /// Returns null if fetching the second page faulted (the fault is pending).
    /// </summary>
    public Block? Build(uint machine, uint eip, uint? linear)
    {
        uint pageEnd = (machine & ~0xFFFu) + 4096;
        if (pageEnd > _memory.Size) pageEnd = _memory.Size;
        int count = 0;
        uint pos = machine, ip = eip;
        uint secondFrame = uint.MaxValue, secondLinearPage = uint.MaxValue;
        while (count < MaxOps)
        {
            _reader.Reset(pos, pageEnd);
            _decoder.IP = ip;
            _decoder.Decode(out var instruction);
            if (_decoder.LastError == DecoderError.NoMoreBytes && pageEnd < _memory.Size)
            {
                if (count > 0) break; // end the block before the instruction that crosses the page
                // A single-instruction block whose bytes continue on the next page.
                uint next;
                if (linear is uint lin)
                {
                    secondLinearPage = (lin >> 12) + 1;
                    if (!_cpu.TranslateFetch(secondLinearPage << 12, out next)) return null;
                }
                else next = pageEnd;
                secondFrame = next >> 12;
                _reader.Reset(pos, pageEnd, next);
                _decoder.IP = ip;
                _decoder.Decode(out instruction);
            }
            ref Op op = ref _opScratch[count];
            op = default;
            OpBuilder.Bind(ref op, in instruction);
            op.Position = (ushort)count;
            _instructionScratch[count] = instruction;
            count++;
            pos += (uint)instruction.Length;
            ip += (uint)instruction.Length;
            if (op.EndsBlock || pos >= pageEnd || secondFrame != uint.MaxValue) break;
        }

        uint firstFrame = machine >> 12;
        uint[] frames = secondFrame == uint.MaxValue ? [firstFrame] : [firstFrame, secondFrame];
        var block = new Block(_opScratch[..count], _instructionScratch[..count], machine, eip, frames, secondLinearPage, ip - eip)
        {
            Plain = !_opScratch[count - 1].EndsBlock || _opScratch[count - 1].NearBranch,
            Probes = linear is null ? _cpu.ProbesFor(_instructionScratch.AsSpan(0, count)) : null,
        };
        var page = _pages[firstFrame] ??= new CodePage();
        if (page.At[machine & 0xFFF] is { } old) Retire(old);
        page.At[machine & 0xFFF] = block;
        foreach (uint f in frames)
        {
            (_pages[f] ??= new CodePage()).Blocks.Add(block);
            if (!_memory.IsCodeFrame(f))
            {
                _memory.SetCodeFrame(f, true);
                _cpu.Mmu.RevokeFastWrites(f);
            }
        }
        BlocksDecoded++;
        return block;
    }

    /// <summary>Drops the blocks whose bytes a write touched; a frame left with no blocks stops being a code frame.</summary>
    public void InvalidateRange(uint address, uint length)
    {
        uint frame = address >> 12;
        var page = _pages[frame];
        if (page is null) { _memory.SetCodeFrame(frame, false); return; }
        bool any = false;
        foreach (var b in page.Blocks)
            if (b.Valid && b.Overlaps(address, length)) { Retire(b); any = true; }
        if (any) page.Blocks.RemoveAll(b => !b.Valid);
        if (page.Blocks.Count == 0) _memory.SetCodeFrame(frame, false);
    }

    /// <summary>Drops every block on a frame.</summary>
    public void InvalidateFrame(uint frame)
    {
        var page = _pages[frame];
        _memory.SetCodeFrame(frame, false);
        if (page is null) return;
        foreach (var b in page.Blocks) Retire(b);
        page.Blocks.Clear();
        Array.Clear(page.At);
    }

    /// <summary>Drops every decoded block (e.g. after a VMM rewrote code wholesale).</summary>
    public void Clear()
    {
        for (uint f = 0; f < _pages.Length; f++)
            if (_pages[f] is not null) InvalidateFrame(f);
    }

    private void Retire(Block b)
    {
        if (!b.Valid) return;
        b.Valid = false;
        _cpu.Mmu.Epoch++;
        // If this block is executing, its next op must not run: each remaining op now stops the block at its own EIP.
        for (int i = 0; i < b.Ops.Length; i++) b.Ops[i].Exec = &Stale;
        var start = _pages[b.Machine >> 12];
        if (start is not null && start.At[b.Machine & 0xFFF] == b) start.At[b.Machine & 0xFFF] = null;
    }

    /// <summary>The op of a block that was invalidated while executing: refetch from here.</summary>
    private static bool Stale(Cpu c, ref Op op)
    {
        c.Eip = op.Eip;
        c.Aborted = true;
        return false;
    }

    /// <summary>Feeds Iced's decoder from machine memory, up to a page end (optionally continuing on another frame).</summary>
    private sealed class MachineCodeReader(PhysicalMemory memory) : CodeReader
    {
        private uint _pos, _end, _continueAt;
        private bool _continued;

        public void Reset(uint pos, uint end, uint? continueAt = null)
        {
            _pos = pos; _end = end;
            _continued = continueAt is not null;
            _continueAt = continueAt ?? 0;
        }

        public override int ReadByte()
        {
            if (_pos >= _end)
            {
                if (!_continued) return -1;
                _pos = _continueAt; _end = _continueAt + 16 > memory.Size ? memory.Size : _continueAt + 16;
                _continued = false;
                if (_pos >= _end) return -1;
            }
            return memory.Read8(_pos++);
        }
    }
}
