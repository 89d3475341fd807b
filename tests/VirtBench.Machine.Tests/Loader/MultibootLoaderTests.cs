using System.Buffers.Binary;
using VirtBench.Machine.Memory;

namespace VirtBench.Machine.Tests.Loader;

/// <summary>The multiboot v1 loader: the machine state QEMU's -kernel leaves, and one-line errors for bad images.</summary>
public class MultibootLoaderTests
{
    private static readonly byte[] Body = [0xB8, 0x00, 0x00, 0x00, 0x00, 0xE7, 0xF4]; // mov eax, 0; out 0xf4, eax

    [Fact]
    public void LoadsAsQemuDoes()
    {
        var image = new GuestImage(Multiboot.CreateImage(Body, Platform.KernelLoadAddress + Multiboot.HeaderSize, bssBytes: 0x3000), "loader");
        var memory = new PhysicalMemory(8u << 20);
        memory.Fill(Platform.KernelLoadAddress, 0x4000, 0xEE); // the bss must come out zeroed
        var cpu = new Cpu.Cpu(memory, new Counters(), new global::VirtBench.Machine.Devices.IoBus(), 64);
        MultibootLoader.Load(image, memory, cpu);

        Assert.Equal(Platform.MultibootBootMagic, cpu.Eax);
        Assert.Equal(Platform.MultibootInfoAddress, cpu.Ebx);
        Assert.Equal(Platform.KernelLoadAddress + Multiboot.HeaderSize, cpu.Eip);
        Assert.Equal(0, cpu.Cpl);
        Assert.Equal(0x11u, cpu.Cr0);                    // PE and ET, paging off
        Assert.False(cpu.InterruptsEnabled);
        Assert.Equal((ushort)0x08, cpu.Segment(Cpu.SegReg.Cs).Selector);
        Assert.Equal(0xFFFF_FFFFu, cpu.Segment(Cpu.SegReg.Ds).Limit);
        Assert.Equal(1u, memory.Read32(Platform.MultibootInfoAddress));        // flags: memory fields valid
        Assert.Equal(640u, memory.Read32(Platform.MultibootInfoAddress + 4));  // mem_lower (KiB)
        Assert.Equal(7u * 1024, memory.Read32(Platform.MultibootInfoAddress + 8)); // mem_upper: 8 MiB - 1 MiB
        Assert.Equal(Body, memory.View(Platform.KernelLoadAddress + Multiboot.HeaderSize, Body.Length).ToArray());
        uint bssStart = Platform.KernelLoadAddress + Multiboot.HeaderSize + (uint)Body.Length;
        Assert.All(memory.View(bssStart, 0x3000).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(0xEE, memory.Read8(bssStart + 0x3000));                   // past bss_end: untouched
    }

    /// <summary>A valid image with one header field (by byte offset in the file) changed.</summary>
    private static byte[] WithField(int offset, uint value)
    {
        var bytes = Multiboot.CreateImage(Body, Platform.KernelLoadAddress + Multiboot.HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
        return bytes;
    }

    /// <summary>Like <see cref="WithField"/>, but with the checksum fixed so that the header is still found.</summary>
    private static byte[] WithFlags(uint flags)
    {
        var bytes = WithField(4, flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), unchecked(0u - Multiboot.HeaderMagic - flags));
        return bytes;
    }

    /// <summary>A consistent image whose address fields say it loads at <paramref name="load"/>.</summary>
    private static byte[] LoadedAt(uint load)
    {
        var bytes = Multiboot.CreateImage(Body, Platform.KernelLoadAddress + Multiboot.HeaderSize);
        uint end = load + (uint)bytes.Length;
        foreach (var (offset, value) in new[] { (12, load), (16, load), (20, end), (24, end), (28, load + Multiboot.HeaderSize) })
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
        return bytes;
    }

    public static TheoryData<string, byte[], string> BadImages() => new()
    {
        { "empty file", [], "no multiboot v1 header in the first 8 KiB" },
        { "no magic", new byte[4096], "no multiboot v1 header in the first 8 KiB" },
        { "bad checksum", WithField(8, 0), "no multiboot v1 header in the first 8 KiB" },
        { "header after 8 KiB", [.. new byte[8192], .. Multiboot.CreateImage(Body, 0x10_0020)], "no multiboot v1 header in the first 8 KiB" },
        { "no address fields", WithFlags(0x2), "no address fields (flag 16)" },
        { "video mode requested", WithFlags(0x1_0006), "unsupported features (flags 0x00010006)" },
        { "truncated header", Multiboot.CreateImage(Body, 0x10_0020)[..20], "multiboot header is truncated" },
        { "load_addr after header_addr", WithField(16, 0x10_0100), "load_addr lies after header_addr" },
        { "load_end below load", WithField(20, 0x0F_0000), "load_end_addr is below load_addr" },
        { "load_end past the file", WithField(20, 0x20_0000), "load_end_addr lies past the end of the file" },
        { "loaded below 1 MiB", LoadedAt(0x8000), "spans 0x8000-0x8027, outside RAM above 1 MiB" },
        { "bss beyond RAM", WithField(24, 0x8000_0000), "outside RAM above 1 MiB" },
        { "entry outside the code", WithField(28, 0x30_0000), "entry 0x300000 is outside the loaded code" },
    };

    [Theory]
    [MemberData(nameof(BadImages))]
    public void BadImagesGiveAOneLineError(string what, byte[] bytes, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => new Pc(new GuestImage(bytes, what)));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    public static TheoryData<MachineOptions, string> BadOptions() => new()
    {
        { new MachineOptions { RamBytes = 1u << 20 }, "RAM size 1048576 bytes is invalid" },
        { new MachineOptions { RamBytes = (8u << 20) + 1 }, "use a multiple of 4 KiB" },
        { new MachineOptions { TlbEntries = 48 }, "TLB size 48 is invalid: use a power of two" },
        { new MachineOptions { InstructionBudget = 0 }, "Instruction budget 0 is invalid" },
        { new MachineOptions { VmmBytes = 123 }, "VMM memory 123 bytes is invalid" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void BadOptionsGiveAOneLineError(MachineOptions options, string expected)
    {
        var image = new GuestImage(Multiboot.CreateImage(Body, Platform.KernelLoadAddress + Multiboot.HeaderSize), "options");
        var error = Assert.Throws<ArgumentException>(() => new Pc(image, options));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
