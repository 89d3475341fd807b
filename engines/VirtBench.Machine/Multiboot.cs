using System.Buffers.Binary;

namespace VirtBench.Machine;

/// <summary>
/// The multiboot v1 header with the address fields ("a.out kludge"), as QEMU's <c>-kernel</c> loads it.
/// Images are flat binaries whose first bytes are this header, loaded at <see cref="Platform.KernelLoadAddress"/>.
/// </summary>
public static class Multiboot
{
    /// <summary>Header magic.</summary>
    public const uint HeaderMagic = 0x1BAD_B002;

    /// <summary>Flags we set: bit 1 (memory information wanted) and bit 16 (address fields valid).</summary>
    public const uint HeaderFlags = 0x0001_0002;

    /// <summary>Size of the header we write; code assembled for an image starts at load address + this.</summary>
    public const uint HeaderSize = 32;

    /// <summary>The header must lie in the first 8 KiB of the file, 4-byte aligned.</summary>
    public const int SearchLimit = 8192;

    /// <summary>
    /// Builds an image: the header, then <paramref name="body"/> (assembled to run at
    /// <see cref="Platform.KernelLoadAddress"/> + <see cref="HeaderSize"/>), then <paramref name="bssBytes"/>
    /// of zeroed memory that the loader clears. <paramref name="entry"/> is a linear address.
    /// </summary>
    public static byte[] CreateImage(ReadOnlySpan<byte> body, uint entry, uint bssBytes = 0)
    {
        uint load = Platform.KernelLoadAddress;
        var file = new byte[HeaderSize + body.Length];
        var h = file.AsSpan();
        uint loadEnd = load + (uint)file.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(h[0..], HeaderMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], HeaderFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], unchecked(0u - HeaderMagic - HeaderFlags));
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], load);               // header_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], load);               // load_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], loadEnd);            // load_end_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], loadEnd + bssBytes); // bss_end_addr
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], entry);              // entry_addr
        body.CopyTo(h[(int)HeaderSize..]);
        return file;
    }

    /// <summary>The parsed address header of an image.</summary>
    public readonly record struct Header(int FileOffset, uint HeaderAddress, uint LoadAddress, uint LoadEndAddress, uint BssEndAddress, uint EntryAddress)
    {
        /// <summary>Offset in the file of the first byte loaded at <see cref="LoadAddress"/>.</summary>
        public int LoadFileOffset => FileOffset - (int)(HeaderAddress - LoadAddress);
    }

    /// <summary>Finds and checks the header; throws <see cref="InvalidDataException"/> with a one-line reason.</summary>
    public static Header Parse(ReadOnlySpan<byte> file)
    {
        int limit = Math.Min(file.Length - 12, SearchLimit - 12);
        for (int off = 0; off <= limit; off += 4)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(file[off..]) != HeaderMagic) continue;
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(file[(off + 4)..]);
            uint sum = BinaryPrimitives.ReadUInt32LittleEndian(file[(off + 8)..]);
            if (unchecked(HeaderMagic + flags + sum) != 0) continue;
            if ((flags & 0x0001_0000) == 0)
                throw new InvalidDataException("multiboot header has no address fields (flag 16); only a.out-kludge images are supported");
            if ((flags & 0x0000_FFFC & ~0x2u) != 0)
                throw new InvalidDataException($"multiboot header requests unsupported features (flags 0x{flags:x8})");
            if (off + 32 > file.Length) throw new InvalidDataException("multiboot header is truncated");
            var h = new Header(off,
                BinaryPrimitives.ReadUInt32LittleEndian(file[(off + 12)..]),
                BinaryPrimitives.ReadUInt32LittleEndian(file[(off + 16)..]),
                BinaryPrimitives.ReadUInt32LittleEndian(file[(off + 20)..]),
                BinaryPrimitives.ReadUInt32LittleEndian(file[(off + 24)..]),
                BinaryPrimitives.ReadUInt32LittleEndian(file[(off + 28)..]));
            if (h.LoadAddress > h.HeaderAddress || h.LoadFileOffset < 0)
                throw new InvalidDataException("multiboot header: load_addr lies after header_addr or before the file");
            if (h.LoadEndAddress != 0 && h.LoadEndAddress < h.LoadAddress)
                throw new InvalidDataException("multiboot header: load_end_addr is below load_addr");
            return h;
        }
        throw new InvalidDataException("no multiboot v1 header in the first 8 KiB");
    }
}
