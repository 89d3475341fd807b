using VirtBench.Engines.HardwareAssisted;
using VirtBench.Machine;
using VirtBench.Machine.Tests.Guest;
using VirtBench.Workloads;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Engines.Tests;

/// <summary>
/// hw-ept's nested paging: the guest's paging never exits, nested tables fill on demand with guest RAM only (the VMM
/// both engines share is tested in <see cref="VmxMonitorTests"/>; the side-by-side comparison with shadow paging is
/// in <see cref="HwShadowTests"/>).
/// </summary>
public class HwEptTests
{
    // ---- The workloads ----

    [Theory]
    [InlineData("forkwait")]
    [InlineData("ptemod")]
    [InlineData("pgfault")]
    [InlineData("mmap")]
    public void Address_space_switches_tlb_flushes_page_table_writes_and_page_faults_stay_in_the_guest(string workload)
    {
        var run = EngineFixtures.Run("hw-ept", workload, EngineFixtures.SmallIterations(workload));
        var total = run.Total;
        Assert.Equal((0ul, 0ul, 0ul, 0ul), (total[Event.ExitCr3Load], total[Event.ExitInvlpg], total[Event.ExitPageFault], total[Event.ExitException]));
        Assert.Equal(1ul, total[Event.ExitCrAccess]); // the kernel turning paging on
        var m = run.Measured!;
        Assert.True(m[Event.TlbFlush] + m[Event.TlbFlushPage] > 0, "the workload should flush translations");
        // A complete walk makes 6 nested references, one that faults in the guest's tables fewer.
        Assert.InRange(m[Event.NestedWalkReference], 2 * m[Event.TlbMiss], 6 * m[Event.TlbMiss]);
    }

    // ---- Small guests ----

    [Fact]
    public void Nested_tables_fill_one_page_per_violation_with_the_identity_of_guest_ram_only()
    {
        var image = ImageBuilder.Build("forkwait", KernelFlavor.Native, 20);
        var strategy = new NestedPaging();
        var options = EngineFixtures.Options.Machine;
        var pc = new Pc(image, options with { VmmBytes = VmxMonitor.VmmBytes(strategy, options.RamBytes) });
        new VmxMonitor(pc, strategy).Launch();
        Assert.True(pc.Run().IsSuccess);
        var tables = strategy.Tables;
        Assert.Equal((ulong)tables.MappedPages, pc.Counters[Event.ExitEptViolation]);
        int mapped = 0;
        for (uint pde = 0; pde < 1024; pde++)
        {
            uint entry = pc.Memory.Read32(tables.Root + pde * 4);
            if ((entry & 1) == 0) continue;
            for (uint pte = 0; pte < 1024; pte++)
            {
                uint e = pc.Memory.Read32((entry & ~0xFFFu) + pte * 4);
                if ((e & 1) == 0) continue;
                uint gpa = pde << 22 | pte << 12;
                Assert.Equal(gpa, e & ~0xFFFu);
                Assert.True(gpa < pc.Memory.GuestRamBytes);
                mapped++;
            }
        }
        Assert.Equal(tables.MappedPages, mapped);
        Assert.InRange(mapped, 20, 8192); // the kernel's 32 MiB at most, touched on demand
    }

    [Fact]
    public void A_guest_access_outside_its_ram_stops_the_run_instead_of_being_mapped()
    {
        uint beyond = EngineFixtures.Options.Machine.RamBytes + 0x1000;
        var guest = TestKernel.Build(k => { k.Asm.mov(eax, __dword_ptr[beyond]); k.Exit(0); });
        Assert.True(EngineFixtures.Run("native", guest.Image).Outcome.IsSuccess); // the bare machine reads open bus
        var hw = EngineFixtures.Run("hw-ept", guest.Image);
        Assert.Equal(OutcomeKind.EngineStop, hw.Outcome.Kind);
        Assert.Contains($"reads guest-physical 0x{beyond:x8}, outside its 64 MiB of RAM", hw.Outcome.Message);
    }
}
