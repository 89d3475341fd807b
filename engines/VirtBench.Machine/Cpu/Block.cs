using Iced.Intel;

namespace VirtBench.Machine.Cpu;

/// <summary>
/// A straight-line run of decoded instructions starting at one machine address and EIP, ending at a
/// control transfer, a state-changing system instruction, a page end, or <see cref="DecodeCache.MaxOps"/>.
/// </summary>
internal sealed class Block
{
    public Block(Op[] ops, Instruction[] instructions, uint machine, uint eip, uint[] frames, uint secondLinearPage, uint length)
    {
        Length = length;
        Ops = ops;
        Instructions = instructions;
        Machine = machine;
        StartEip = eip;
        Frames = frames;
        SecondLinearPage = secondLinearPage;
    }

    /// <summary>The ops, executed in order.</summary>
    public readonly Op[] Ops;

    /// <summary>The Iced instructions the ops came from (for slow-path handlers and VMMs).</summary>
    public readonly Instruction[] Instructions;

    /// <summary>Machine address of the first byte.</summary>
    public readonly uint Machine;

    /// <summary>EIP of the first instruction (the ops' EIPs and branch targets are relative to it).</summary>
    public readonly uint StartEip;

    /// <summary>Bytes the block's instructions occupy (on a crossing block, continuing at the start of the second frame).</summary>
    public readonly uint Length;

    /// <summary>True if a write of [address, address+length) on a frame touches this block's bytes.</summary>
    public bool Overlaps(uint address, uint length)
    {
        uint frame = address >> 12;
        uint start, end;
        if (frame == Frames[0])
        {
            start = Machine;
            end = Math.Min(Machine + Length, (frame + 1) << 12);
        }
        else
        {
            start = frame << 12;
            end = start + (Machine + Length - ((Frames[0] + 1) << 12));
        }
        return address < end && address + length > start;
    }

    /// <summary>Machine frames the block's bytes lie on (one, or two for an instruction crossing a page).</summary>
    public readonly uint[] Frames;

    /// <summary>For a block whose instruction crosses into another linear page: that page (else uint.MaxValue).</summary>
    public readonly uint SecondLinearPage;

    /// <summary>Cleared when a write to one of its frames invalidates it.</summary>
    public bool Valid = true;

    /// <summary>
    /// True when the block ends in a plain branch or runs off its end, and contains no instruction that can
    /// change interrupt or device state: the run loop may go straight on to the next block.
    /// </summary>
    public bool Plain;

    /// <summary>Execution probes on the block's instructions (translation-cache blocks only), else null.</summary>
    public BlockProbe[]? Probes;

    /// <summary>Two cached successors (block chaining), valid while <see cref="Memory.Mmu.Epoch"/> is unchanged.</summary>
    public Block? Next0, Next1;
    public uint Next0Eip, Next1Eip;
    public int Next0Epoch = -1, Next1Epoch = -1;
    public bool ReplaceNext1;
}
