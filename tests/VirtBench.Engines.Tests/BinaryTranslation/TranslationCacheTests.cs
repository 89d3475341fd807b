using VirtBench.Engines.BinaryTranslation;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.BinaryTranslation.Runtime;
using VirtBench.Machine;
using VirtBench.Workloads;

namespace VirtBench.Engines.Tests.BinaryTranslation;

/// <summary>
/// The translation cache after real runs: every unit's map says where each guest instruction's translation starts and
/// that the guest's state is exact there, IDENT copies are the guest's own bytes, each exit jumps either to its stub or
/// to a live translation of its target; and a cache too small for the kernel is flushed and refilled without the
/// guest noticing.
/// </summary>
public class TranslationCacheTests
{
    [Theory]
    [InlineData("syscall")]
    [InlineData("forkwait")]
    [InlineData("pipe")]
    public void Every_unit_maps_its_guest_instructions_and_its_exits_go_to_their_stub_or_their_target(string workload)
    {
        var image = ImageBuilder.Build(workload, KernelFlavor.Native, 20);
        var pc = new Pc(image, EngineFixtures.Options.Machine with { VmmBytes = BinaryTranslationEngine.VmmBytes });
        var monitor = new BinaryTranslationMonitor(pc, adaptiveTranslation: true);
        Assert.True(pc.Run().IsSuccess);

        var units = monitor.Cache.Units.ToList();
        Assert.NotEmpty(units);
        var decoder = new TranslatedInstructions(pc.Memory);
        foreach (var unit in units)
        {
            Assert.InRange(unit.Guest.Length, 1, 12);
            for (int k = 0; k < unit.Guest.Length; k++)
            {
                var entry = unit.EntryAt(unit.Address + (uint)unit.InstructionOffsets[k]);
                Assert.NotNull(entry);
                Assert.Equal((uint)unit.Guest[k].IP, entry.Value.GuestEip);
                Assert.True(entry.Value.IsBoundary);
                if (entry.Value.Role != TcRole.Ident) continue;
                Assert.True(decoder.TryDecode(unit.Address + entry.Value.Offset, out var copy));
                Assert.Equal(unit.Guest[k].Code, copy.Code);
                Assert.Equal(unit.Guest[k].Length, copy.Length);
            }
            foreach (var exit in unit.Exits)
            {
                uint end = unit.Address + (uint)exit.JumpEnd;
                uint target = end + pc.Memory.Read32(end - 4);
                if (exit.LinkedTo is null) Assert.Equal(unit.Address + (uint)exit.StubOffset, target);
                else
                {
                    Assert.True(exit.LinkedTo.Alive);
                    var there = exit.LinkedTo.EntryAt(target);
                    Assert.Equal(exit.Target, there!.Value.GuestEip);
                }
            }
            foreach (var site in unit.Sites) Assert.True(site.Resume == CalloutSite.Dispatch || site.Resume < unit.Length);
        }
    }

    [Fact]
    public void A_cache_too_small_for_the_kernel_is_flushed_and_refilled_and_the_guest_does_not_notice()
    {
        var image = ImageBuilder.Build("forkwait", KernelFlavor.Native, 20);
        var native = EngineCatalog.Get("native").Run(image, EngineFixtures.Options);
        var pc = new Pc(image, EngineFixtures.Options.Machine with { VmmBytes = BinaryTranslationEngine.VmmBytes });
        var monitor = new BinaryTranslationMonitor(pc, adaptiveTranslation: true, cacheBytes: 2048);

        var outcome = pc.Run();

        Assert.Equal(native.Outcome, outcome);
        Assert.Equal(native.UartOutput, pc.Uart.Output);
        Assert.True(monitor.Cache.Flushes > 10, $"{monitor.Cache.Flushes} flushes");
        Assert.Equal(0ul, pc.Counters.Instructions(ExecutionMode.Ring0) + pc.Counters.Instructions(ExecutionMode.Ring1));
    }
}
