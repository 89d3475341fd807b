using VirtBench.Machine.Monitor;
using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Vmx;

/// <summary>
/// Nested paging: the guest's paging operations stay in the guest, every TLB miss is a two-dimensional walk
/// whose references are counted exactly, EPT violations say what was accessed and how, and without a VPID every
/// VM entry flushes the TLB.
/// </summary>
public class NestedPagingTests
{
    [Fact]
    public void A_cr3_load_invlpg_and_page_table_write_do_not_exit_and_each_tlb_miss_walks_both_dimensions()
    {
        const uint data = TestPages + 0x5000, other = TestPages + 0x6000;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            k.ContinueOnNewPage();           // the measured code on one page
            k.Bench(Platform.BenchBegin);
            a.mov(eax, cr3);
            a.mov(cr3, eax);                 // flush: the next fetch misses (the code page's entries are accessed already)
            a.mov(eax, __dword_ptr[data]);   // miss; sets the PTE's accessed bit
            a.invlpg(__[data]);
            a.mov(__dword_ptr[PteAddress(other)], other | Present | Writable); // a page-table write: misses on the table's page, sets A and D
            k.Bench(Platform.BenchEnd);
            k.Exit(0);
        }, new KernelOptions { Paging = true });

        var native = new Pc(guest.Image);
        var nativeOutcome = native.Run();
        Assert.True(nativeOutcome.IsSuccess, nativeOutcome + native.Uart.Output);
        var vmx = VmxHarness.Launch(guest.Image);
        Assert.True(vmx.Pc.Run().IsSuccess);
        Assert.Empty(vmx.Exits);

        foreach (var counts in new[] { native.Bench.Measured!, vmx.Pc.Bench.Measured! })
        {
            Assert.Equal(3ul, counts[Event.TlbMiss]);            // the code page, the data page, the page table's page
            Assert.Equal(8ul, counts[Event.PageWalkReference]);  // PDE + PTE for each, one A update, one A+D update
            Assert.Equal((1ul, 1ul), (counts[Event.TlbFlush], counts[Event.TlbFlushPage]));
        }
        Assert.Equal(0ul, native.Bench.Measured![Event.NestedWalkReference]);
        // Each guest walk reads 2 guest entries and ends at 1 guest page, 3 guest-physical addresses, each translated
        // through the 2-level nested tables: 6 nested references per miss (n*m + m for n = m = 2), 8 in all with the guest's.
        var measured = vmx.Pc.Bench.Measured!;
        Assert.Equal(18ul, measured[Event.NestedWalkReference]);
        Assert.Equal(0ul, measured[Event.VmEntry]);
        Assert.All(EventInfo.All.Where(e => EventInfo.CategoryOf(e) == EventCategory.VmExits), e => Assert.Equal(0ul, measured[e]));
    }

    [Fact]
    public void With_paging_off_a_miss_is_a_one_dimensional_nested_walk()
    {
        var guest = TestKernel.Build(k =>
        {
            k.Bench(Platform.BenchBegin);
            k.Asm.mov(eax, __dword_ptr[TestPages]);
            k.Bench(Platform.BenchEnd);
            k.Exit(0);
        });
        var vmx = VmxHarness.Launch(guest.Image);
        Assert.True(vmx.Pc.Run().IsSuccess);
        var measured = vmx.Pc.Bench.Measured!;
        Assert.Equal((1ul, 2ul, 0ul), (measured[Event.TlbMiss], measured[Event.NestedWalkReference], measured[Event.PageWalkReference]));
    }

    [Fact]
    public void Ept_violations_report_the_access_what_the_nested_tables_allow_and_whether_a_guest_table_was_read()
    {
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            a.cpuid();                                     // the harness takes the guest's page table away here
            a.mov(eax, __dword_ptr[TestPages]);            // not mapped in the nested tables
            a.mov(__dword_ptr[TestPages + 0x1000], eax);   // mapped read-only
            a.call(TestPages + 0x2000);                    // not mapped; holds a ret
            k.Exit(0);
        }, new KernelOptions { Paging = true });
        var h = VmxHarness.Launch(guest.Image, x =>
        {
            x.Unmap(TestPages);
            x.Map(TestPages + 0x1000, writable: false);
            x.Unmap(TestPages + 0x2000);
            x.Pc.Memory.Write8(TestPages + 0x2000, 0xC3);
        });
        h.Handler = (x, e) =>
        {
            if (e.Reason == VmExitReason.Cpuid) { x.Unmap(PageTable); x.Skip(e); }
            else x.Map(e.GuestPhysicalAddress, writable: true);
            return true;
        };
        Assert.True(h.Pc.Run().IsSuccess);
        var violations = h.Exits.Skip(1).Select(e => (e.GuestPhysicalAddress, e.GuestLinearAddress, Q: EptViolationQualification.Decode(e.Qualification))).ToList();
        Assert.Equal(4, violations.Count);

        // The fetch after cpuid walks the guest's tables: reading its PTE hits the unmapped table page.
        var table = violations[0];
        Assert.Equal(PageTable >> 12, table.GuestPhysicalAddress >> 12);
        Assert.Equal(PteAddress(table.GuestLinearAddress), table.GuestPhysicalAddress);
        Assert.Equal(new EptViolationQualification(Read: true, Write: false, Fetch: false, Readable: false, Writable: false, Executable: false,
            LinearAddressValid: true, FinalTranslation: false), table.Q);

        Assert.Equal((TestPages, TestPages), (violations[1].GuestPhysicalAddress, violations[1].GuestLinearAddress));
        Assert.True(violations[1].Q is { Read: true, Write: false, FinalTranslation: true, Readable: false });
        Assert.Equal(TestPages + 0x1000, violations[2].GuestPhysicalAddress);
        Assert.True(violations[2].Q is { Write: true, Readable: true, Writable: false, Executable: true, FinalTranslation: true });
        Assert.Equal(TestPages + 0x2000, violations[3].GuestPhysicalAddress);
        Assert.True(violations[3].Q is { Fetch: true, Read: false, FinalTranslation: true });
        Assert.Equal(4ul, h.Pc.Counters[Event.ExitEptViolation]);
    }

    [Fact]
    public void Without_a_vpid_every_vm_entry_flushes_the_tlb()
    {
        ulong Flushes(bool vpid)
        {
            var image = TestImage.Build(a => { a.cpuid(); a.cpuid(); a.cpuid(); TestImage.Exit(a); });
            var h = VmxHarness.Launch(image, x => x.SetControls(VmcsField.SecondaryControls, (uint)SecondaryControls.EnableVpid, on: vpid));
            h.Handler = VmxHarness.SkipWritingPorts;
            Assert.True(h.Pc.Run().IsSuccess);
            return h.Pc.Counters[Event.TlbFlush];
        }
        Assert.Equal(3ul, Flushes(vpid: false) - Flushes(vpid: true));
    }
}
