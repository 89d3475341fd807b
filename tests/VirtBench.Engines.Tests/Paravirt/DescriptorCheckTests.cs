using VirtBench.Engines.Paravirt;

namespace VirtBench.Engines.Tests.Paravirt;

/// <summary>set_gdt's descriptor check (Xen's check_descriptor for a 32-bit guest).</summary>
public sealed class DescriptorCheckTests
{
    private static ulong Descriptor(uint high, uint low) => low | (ulong)high << 32;

    [Fact]
    public void A_flat_ring_0_segment_becomes_ring_1_and_ends_below_the_hypervisor()
    {
        Assert.True(DescriptorTables.CheckDescriptor(Descriptor(0x00CF_9A00, 0x0000_FFFF), out ulong code));
        Assert.Equal(Descriptor(0x00CF_BB00, 0x0000_BFFF), code);   // DPL 1, limit 0xFBFFF pages (0xFBFFFFFF), accessed
        Assert.True(DescriptorTables.CheckDescriptor(Descriptor(0x00CF_F200, 0x0000_FFFF), out ulong data));
        Assert.Equal(Descriptor(0x00CF_F300, 0x0000_BFFF), data);   // DPL 3 kept
    }

    [Fact]
    public void Small_segments_and_absent_descriptors_pass_unchanged_but_for_the_accessed_bit()
    {
        Assert.True(DescriptorTables.CheckDescriptor(Descriptor(0x0040_B200, 0x1000_0FFF), out ulong small));
        Assert.Equal(Descriptor(0x0040_B300, 0x1000_0FFF), small);
        Assert.True(DescriptorTables.CheckDescriptor(Descriptor(0x0000_0900, 0x1234_0067), out ulong absent));
        Assert.Equal(Descriptor(0x0000_0900, 0x1234_0067), absent);
        Assert.True(DescriptorTables.CheckDescriptor(Descriptor(0xFB00_F200, 0x0000_FFFF), out ulong high));
        Assert.Equal(Descriptor(0xFB00_F300, 0x0000_FFFF), high);   // base 0xFB000000, 64 KiB: below the hypervisor
    }

    [Theory]
    [InlineData(0x0000_8900u, 0x1000_0067u)]    // a TSS
    [InlineData(0x0000_8200u, 0x1000_0FFFu)]    // an LDT
    [InlineData(0x0000_EC00u, 0x0008_1234u)]    // a call gate
    [InlineData(0x00CF_9600u, 0x0000_FFFFu)]    // expand-down data
    [InlineData(0xFC00_9200u, 0x0000_0FFFu)]    // based in the hypervisor's area
    public void System_descriptors_expand_down_data_and_hypervisor_bases_are_refused(uint high, uint low) =>
        Assert.False(DescriptorTables.CheckDescriptor(Descriptor(high, low), out _));
}
