using System.Runtime.CompilerServices;

namespace VirtBench.Machine.Memory;

/// <summary>
/// The CPU's direct-mapped lookup in front of the modeled <see cref="Tlb"/>, one per privilege class
/// (user, supervisor). An entry's read tag is its page number when the class may read the page; its write tag
/// is the page number only when the class may write it, the page is already dirty, and the frame holds no
/// decoded code; otherwise the tag is <see cref="Tlb.Invalid"/> and the access takes the slow path.
/// </summary>
internal sealed class FastTlb
{
    public const int Size = 256;
    public const int Mask = Size - 1;

    public struct Entry
    {
        public uint ReadTag;
        public uint WriteTag;
        public int Host;   // offset of the frame in machine memory
        public uint Frame;
    }

    public readonly Entry[] Entries = new Entry[Size];

    public FastTlb() => Clear();

    public void Clear()
    {
        for (int i = 0; i < Size; i++) Entries[i] = new Entry { ReadTag = Tlb.Invalid, WriteTag = Tlb.Invalid };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Drop(uint vpn)
    {
        ref Entry e = ref Entries[vpn & Mask];
        if (e.ReadTag == vpn || e.WriteTag == vpn) e = new Entry { ReadTag = Tlb.Invalid, WriteTag = Tlb.Invalid };
    }

    /// <summary>Withdraws write permission from every entry that maps a frame (it now holds decoded code).</summary>
    public void RevokeWrites(uint frame)
    {
        for (int i = 0; i < Size; i++)
            if (Entries[i].Frame == frame) Entries[i].WriteTag = Tlb.Invalid;
    }
}
