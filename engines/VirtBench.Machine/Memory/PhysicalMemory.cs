using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VirtBench.Machine.Memory;

/// <summary>
/// Machine memory: guest RAM at physical 0 followed by a region reserved for a VMM (shadow page tables,
/// translation cache, its own descriptor tables). The guest reaches the VMM region only through mappings a
/// VMM creates; with paging off, accesses beyond guest RAM read as all ones and writes are dropped, as on an
/// empty bus.
/// </summary>
/// <remarks>
/// Every write that does not come through the CPU's fast path (devices, loaders, a VMM, the CPU's slow path)
/// goes through <see cref="NotifyWrite"/>, so decoded code in the written bytes is invalidated: self-modifying
/// code and code loaded by a VMM stay correct. The CPU's fast path never holds write permission to a frame
/// that holds decoded code.
/// </remarks>
/// <para>The bytes live in native memory allocated zeroed (calloc): the operating system supplies zero pages
/// on first touch, so building a machine costs nothing for memory the guest never uses, and the garbage
/// collector never scans or copies guest RAM.</para>
public sealed unsafe class PhysicalMemory
{
    private readonly byte* _base;
    private readonly bool[] _codeFrames;

    /// <summary>Allocates zeroed memory: guest RAM plus a VMM region.</summary>
    public PhysicalMemory(uint guestRamBytes, uint vmmBytes = 0)
    {
        GuestRamBytes = guestRamBytes;
        Size = guestRamBytes + vmmBytes;
        _base = (byte*)NativeMemory.AllocZeroed(Size + 16); // 16 spare bytes: an unaligned 4-byte access at the end stays inside
        GC.AddMemoryPressure(Size);
        _codeFrames = new bool[Size >> 12];
    }

    /// <summary>Frees the native memory.</summary>
    ~PhysicalMemory()
    {
        NativeMemory.Free(_base);
        GC.RemoveMemoryPressure(Size);
    }

    /// <summary>All of machine memory, for bulk operations of the CPU's string instructions.</summary>
    internal Span<byte> Bytes => new(_base, (int)Size);

    /// <summary>Bytes of guest RAM (physical 0 up to this address).</summary>
    public uint GuestRamBytes { get; }

    /// <summary>Total bytes (guest RAM and VMM region).</summary>
    public uint Size { get; }

    /// <summary>First physical address of the VMM region.</summary>
    public uint VmmBase => GuestRamBytes;

    /// <summary>Called when a write touches a frame that holds decoded code: (address, length) within that frame.</summary>
    internal Action<uint, uint>? CodeWritten;

    /// <summary>True if the frame holds decoded instructions (writes to it must invalidate them).</summary>
    internal bool IsCodeFrame(uint frame) => frame < (uint)_codeFrames.Length && _codeFrames[frame];

    internal void SetCodeFrame(uint frame, bool isCode) => _codeFrames[frame] = isCode;

    /// <summary>True if [address, address+length) lies inside machine memory.</summary>
    public bool Contains(uint address, uint length) => (ulong)address + length <= Size;

    /// <summary>Reads a byte (all ones beyond memory).</summary>
    public byte Read8(uint a) => a < Size ? _base[a] : (byte)0xFF;

    /// <summary>Reads a little-endian 16-bit value.</summary>
    public ushort Read16(uint a) => Contains(a, 2) ? Unsafe.ReadUnaligned<ushort>(_base + a) : (ushort)(Read8(a) | Read8(a + 1) << 8);

    /// <summary>Reads a little-endian 32-bit value.</summary>
    public uint Read32(uint a) => Contains(a, 4) ? Unsafe.ReadUnaligned<uint>(_base + a) : Read16(a) | (uint)Read16(a + 2) << 16;

    /// <summary>Writes a byte (dropped beyond memory).</summary>
    public void Write8(uint a, byte v)
    {
        if (a >= Size) return;
        _base[a] = v;
        NotifyWrite(a, 1);
    }

    /// <summary>Writes a little-endian 16-bit value.</summary>
    public void Write16(uint a, ushort v)
    {
        if (!Contains(a, 2)) { Write8(a, (byte)v); Write8(a + 1, (byte)(v >> 8)); return; }
        Unsafe.WriteUnaligned(_base + a, v);
        NotifyWrite(a, 2);
    }

    /// <summary>Writes a little-endian 32-bit value.</summary>
    public void Write32(uint a, uint v)
    {
        if (!Contains(a, 4)) { Write16(a, (ushort)v); Write16(a + 2, (ushort)(v >> 16)); return; }
        Unsafe.WriteUnaligned(_base + a, v);
        NotifyWrite(a, 4);
    }

    /// <summary>Copies bytes into memory (throws if the range is outside memory).</summary>
    public void Write(uint a, ReadOnlySpan<byte> data)
    {
        if (!Contains(a, (uint)data.Length))
            throw new ArgumentOutOfRangeException(nameof(a), $"range 0x{a:x8}+{data.Length} is outside machine memory (0x{Size:x8} bytes)");
        data.CopyTo(Bytes[(int)a..]);
        NotifyWrite(a, (uint)data.Length);
    }

    /// <summary>Fills a range with a byte value (throws if the range is outside memory).</summary>
    public void Fill(uint a, uint length, byte value)
    {
        if (!Contains(a, length))
            throw new ArgumentOutOfRangeException(nameof(a), $"range 0x{a:x8}+{length} is outside machine memory (0x{Size:x8} bytes)");
        Bytes.Slice((int)a, (int)length).Fill(value);
        NotifyWrite(a, length);
    }

    /// <summary>Copies bytes out of memory (throws if the range is outside memory).</summary>
    public void Read(uint a, Span<byte> destination)
    {
        if (!Contains(a, (uint)destination.Length))
            throw new ArgumentOutOfRangeException(nameof(a), $"range 0x{a:x8}+{destination.Length} is outside machine memory (0x{Size:x8} bytes)");
        Bytes.Slice((int)a, destination.Length).CopyTo(destination);
    }

    /// <summary>A read-only view of a range (for decoders and page walks that do not count).</summary>
    public ReadOnlySpan<byte> View(uint a, int length) => Bytes.Slice((int)a, length);

    /// <summary>Invalidates decoded code on the frames a write touched.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void NotifyWrite(uint a, uint length)
    {
        uint first = a >> 12, last = (a + length - 1) >> 12;
        for (uint f = first; f <= last; f++)
        {
            if (f >= (uint)_codeFrames.Length || !_codeFrames[f]) continue;
            uint start = Math.Max(a, f << 12), end = Math.Min(a + length, (f + 1) << 12);
            CodeWritten?.Invoke(start, end - start);
        }
    }

    internal ref byte Ref(int offset) => ref _base[offset];
}
