using VirtBench.Engines.Vmm;
using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Tests;

/// <summary>The real GDT's copy of a guest descriptor: deprivileged (DPL 0 to 1) and ending below the hypervisor region.</summary>
public class MonitorDescriptorTablesTests
{
    private static Segment Real(uint low, uint high)
    {
        var (l, h) = MonitorDescriptorTables.Deprivilege(low, high);
        return Segment.FromDescriptor(0x08, l, h);
    }

    [Fact]
    public void A_flat_kernel_segment_gets_DPL_1_and_ends_below_the_hypervisor_region()
    {
        var code = Real(0x0000_FFFF, 0x00CF_9A00);
        Assert.Equal(1, code.Dpl);
        Assert.True(code.IsCode && code.Present && code.Big);
        Assert.Equal(0u, code.Base);
        Assert.Equal(HypervisorRegion.Base - 1, code.Limit);
    }

    [Fact]
    public void A_user_segment_keeps_DPL_3_and_is_truncated_too()
    {
        var data = Real(0x0000_FFFF, 0x00CF_F200);
        Assert.Equal(3, data.Dpl);
        Assert.Equal(HypervisorRegion.Base - 1, data.Limit);
    }

    [Fact]
    public void Segments_below_the_region_are_unchanged_and_byte_granular_ones_stay_byte_granular()
    {
        Assert.Equal(0xFFFFu, Real(0x0000_FFFF, 0x0040_9200).Limit);
        var high = Real(0x0000_FFFF, 0xFB40_9200);                       // base 0xFB000000, 64 KiB
        Assert.Equal(0xFFFFu, high.Limit);
        var crossing = Real(0x0000_FFFF, 0xFBCF_9200);                   // base 0xFB000000, 4 GiB: 16 MiB left
        Assert.Equal(0xFB00_0000u, crossing.Base);
        Assert.Equal(0x00FF_FFFFu, crossing.Limit);
        Assert.False(Real(0x0000_FFFF, 0xFCCF_9200).Present);            // starts inside the region
    }

    [Fact]
    public void An_expand_down_segment_that_reaches_the_region_is_not_present()
    {
        Assert.False(Real(0x0000_1000, 0x00C0_9600).Present);           // 32-bit expand-down: offsets up to 4 GiB
        Assert.True(Real(0x0000_1000, 0x0000_9600).Present);            // 16-bit expand-down: up to 64 KiB
    }

    [Fact]
    public void System_descriptors_are_not_copied()
    {
        Assert.Equal((0u, 0u), MonitorDescriptorTables.Deprivilege(0x0000_0067, 0x0000_8900)); // a TSS
        Assert.Equal((0u, 0u), MonitorDescriptorTables.Deprivilege(0x0008_0000, 0x0000_EF00)); // a trap gate
    }
}
