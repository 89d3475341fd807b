using VirtBench.Machine.Memory;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The VMM's own machine memory (the region above guest RAM, <see cref="PhysicalMemory.VmmBase"/>): permanent
/// allocations (descriptor tables, a translation cache) and 4 KiB frames that come and go (shadow page tables).
/// The guest reaches none of it except through mappings a VMM makes.
/// </summary>
public sealed class VmmMemory
{
    private readonly Stack<uint> _freeFrames = new();
    private uint _next;

    /// <summary>Manages the VMM region of <paramref name="memory"/>.</summary>
    public VmmMemory(PhysicalMemory memory)
    {
        Memory = memory;
        _next = memory.VmmBase;
    }

    /// <summary>Machine memory.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>Frames neither allocated nor freed yet, plus freed frames.</summary>
    public uint FreeFrames => (Memory.Size - _next) / 4096 + (uint)_freeFrames.Count;

    /// <summary>Allocates a zeroed, page-aligned region for the VMM's lifetime; throws if the region is too small.</summary>
    public uint Allocate(uint bytes)
    {
        uint size = (bytes + 4095) & ~4095u;
        if ((ulong)_next + size > Memory.Size)
            throw new InvalidOperationException($"VMM memory exhausted: {bytes} more bytes needed, {Memory.Size - _next} left (raise MachineOptions.VmmBytes)");
        uint at = _next;
        _next += size;
        Memory.Fill(at, size, 0);
        return at;
    }

    /// <summary>A zeroed 4 KiB frame (its machine address), or false when the region is exhausted.</summary>
    public bool TryAllocateFrame(out uint machineAddress)
    {
        if (_freeFrames.TryPop(out machineAddress)) { }
        else if ((ulong)_next + 4096 <= Memory.Size) { machineAddress = _next; _next += 4096; }
        else return false;
        Memory.Fill(machineAddress, 4096, 0);
        return true;
    }

    /// <summary>Returns a frame from <see cref="TryAllocateFrame"/>.</summary>
    public void FreeFrame(uint machineAddress) => _freeFrames.Push(machineAddress);
}
