using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Paging;

/// <summary>
/// The modeled TLB counts misses and page-walk references exactly, and CR3 loads and invlpg flush it. Each
/// scenario runs in a bench-port region that starts on a fresh code page, so the counts are the region's alone.
/// </summary>
public class TlbAccountingTests
{
    private const uint PageA = TestPages, PageB = TestPages + 0x1000, PageC = TestPages + 0x2000;

    /// <summary>Builds a kernel whose measured region (after a CR3 reload) runs <paramref name="region"/>.</summary>
    private static (Pc Pc, Counters Region) Measure(Action<Iced.Intel.Assembler> region, int tlbEntries = 64)
    {
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            a.mov(ebx, PageDirectory);
            a.mov(eax, Platform.BenchBegin);
            var start = k.Program.CreateLabel("region");
            a.jmp(start);
            k.Program.Align(4096); // a code page never fetched before: its first fetch happens before the region
            k.Program.Place(ref start);
            a.@out((byte)Platform.BenchControlPort, eax);
            a.mov(cr3, ebx);
            region(a);
            a.mov(eax, Platform.BenchEnd);
            a.@out((byte)Platform.BenchControlPort, eax);
            k.Exit(0);
        }, new KernelOptions { Paging = true }, "tlb");
        var pc = new Pc(guest.Image, new MachineOptions { TlbEntries = tlbEntries });
        var outcome = pc.Run();
        Assert.True(outcome.IsSuccess, outcome + pc.Uart.Output);
        return (pc, pc.Bench.Measured!);
    }

    [Fact]
    public void CountsMissesAndWalkReferencesExactly()
    {
        var (pc, region) = Measure(a =>
        {
            a.mov(eax, __dword_ptr[PageA]);      // miss: PDE, PTE, PTE.A set    = 3 references
            a.mov(eax, __dword_ptr[PageB]);      // miss                         = 3
            a.mov(eax, __dword_ptr[PageA + 4]);  // hit
            a.mov(__dword_ptr[PageC], eax);      // miss: PDE, PTE, PTE.A|D set  = 3
            a.mov(__dword_ptr[PageA], eax);      // hit, first write: PTE.D set  = 1
            a.invlpg(__[PageB]);                 // drops B only
            a.mov(eax, __dword_ptr[PageB]);      // miss: PDE, PTE (A already)   = 2
        });
        // Plus the code page after the CR3 reload: PDE and PTE, both already accessed = 2 references.
        Assert.Equal(5ul, region[Event.TlbMiss]);
        Assert.Equal(14ul, region[Event.PageWalkReference]);
        Assert.Equal(1ul, region[Event.TlbFlush]);
        Assert.Equal(1ul, region[Event.TlbFlushPage]);

        uint Pte(uint page) => pc.Memory.Read32(PteAddress(page)) & (Accessed | Dirty);
        Assert.Equal(Accessed | Dirty, Pte(PageA));
        Assert.Equal(Accessed, Pte(PageB));
        Assert.Equal(Accessed | Dirty, Pte(PageC));
        Assert.Equal(0u, Pte(TestPages + 0x3000));
    }

    [Theory]
    [InlineData(64, 6)]  // code page + five data pages
    [InlineData(4, 7)]   // one set of four ways, first in first out: the sixth access finds page 0 evicted
    public void CapacityDecidesWhatMisses(int tlbEntries, int misses)
    {
        var (_, region) = Measure(a =>
        {
            for (uint page = 0; page < 5; page++) a.mov(eax, __dword_ptr[TestPages + page * 0x1000]);
            a.mov(eax, __dword_ptr[TestPages]);
        }, tlbEntries);
        Assert.Equal((ulong)misses, region[Event.TlbMiss]);
    }

    [Fact]
    public void ACr3LoadFlushesEveryTranslation()
    {
        var (_, region) = Measure(a =>
        {
            a.mov(eax, __dword_ptr[PageA]);
            a.mov(eax, __dword_ptr[PageB]);
            a.mov(cr3, ebx);                     // ends the block: the code page misses again too
            a.mov(eax, __dword_ptr[PageA]);
            a.mov(eax, __dword_ptr[PageB]);
        });
        Assert.Equal(6ul, region[Event.TlbMiss]);
        Assert.Equal(2ul, region[Event.TlbFlush]);
    }
}
