using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;

namespace VirtBench.Machine;

/// <summary>
/// Loads a multiboot v1 image the way QEMU's <c>-kernel</c> does: the file at its load address, the bss
/// cleared, a multiboot information structure with the memory sizes, and the CPU in 32-bit protected mode
/// with paging off, flat segments, interrupts off, EAX = 0x2BADB002 and EBX = the information structure.
/// </summary>
public static class MultibootLoader
{
    /// <summary>Loads the image; throws <see cref="InvalidDataException"/> with a one-line reason if it cannot.</summary>
    public static void Load(GuestImage image, PhysicalMemory memory, Cpu.Cpu cpu)
    {
        var h = Multiboot.Parse(image.Bytes);
        uint loadEnd = h.LoadEndAddress != 0 ? h.LoadEndAddress : h.LoadAddress + (uint)(image.Bytes.Length - h.LoadFileOffset);
        uint length = loadEnd - h.LoadAddress;
        if (h.LoadFileOffset + length > image.Bytes.Length)
            throw new InvalidDataException($"multiboot image '{image.Name}': load_end_addr lies past the end of the file");
        uint bssEnd = Math.Max(h.BssEndAddress, loadEnd);
        if (h.LoadAddress < 0x0010_0000 || bssEnd > memory.GuestRamBytes)
            throw new InvalidDataException($"multiboot image '{image.Name}' spans 0x{h.LoadAddress:x}-0x{bssEnd:x}, outside RAM above 1 MiB (RAM is 0x{memory.GuestRamBytes:x} bytes)");
        if (h.EntryAddress < h.LoadAddress || h.EntryAddress >= loadEnd)
            throw new InvalidDataException($"multiboot image '{image.Name}': entry 0x{h.EntryAddress:x} is outside the loaded code");
        memory.Write(h.LoadAddress, image.Bytes.AsSpan(h.LoadFileOffset, (int)length));
        // Clear the bss; fresh machine memory is already zero, and reading it is cheaper than committing pages.
        if (bssEnd > loadEnd && memory.View(loadEnd, (int)(bssEnd - loadEnd)).ContainsAnyExcept((byte)0))
            memory.Fill(loadEnd, bssEnd - loadEnd, 0);

        // Multiboot information: flags bit 0 (mem_lower, mem_upper in KiB).
        uint info = Platform.MultibootInfoAddress;
        memory.Fill(info, 88, 0);
        memory.Write32(info, 1);
        memory.Write32(info + 4, 640);
        memory.Write32(info + 8, (memory.GuestRamBytes >> 10) - 1024);

        cpu.Reset();
        cpu.Eax = Platform.MultibootBootMagic;
        cpu.Ebx = info;
        cpu.Eip = h.EntryAddress;
    }
}
