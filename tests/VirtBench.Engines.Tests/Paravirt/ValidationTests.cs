using Iced.Intel;
using VirtBench.Engines.Paravirt;
using VirtBench.Machine;
using VirtBench.Workloads.Assembly;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Tests.Paravirt;

/// <summary>
/// The hypervisor's guarantees, exercised by a guest that breaks the rules: it may map only its own frames, never a
/// page table writable, never the hypervisor's slots; a refused request changes nothing and the guest goes on; a
/// privileged instruction at ring 1 is refused and counted.
/// </summary>
public sealed class ValidationTests
{
    private const uint Page = 4096, P = 1, W = 2;
    private const uint Probe = 0x03F0_0000;          // identity-mapped by the bootstrap tables, unused by the test guest
    private const uint Garbage = 0x0005_0000, Target = 0x0005_1000;
    private const uint Marker = 0x600D_F00D;

    [Fact]
    public void Mapping_a_frame_the_guest_does_not_own_or_its_page_tables_writable_is_refused_and_changes_nothing()
    {
        uint gdt = TestDomain.Layout.Gdt;
        var domain = TestDomain.Boot(k =>
        {
            var a = k.A;
            a.mov(ebp, __dword_ptr[StartInfo.Address + StartInfo.PtBase]);
            a.lea(edi, __[ebp + (int)(Page + (Probe >> 12) * 4)]);     // the bootstrap entry that maps Probe
            void Update(int index, Action value)
            {
                a.mov(ebx, edi);
                value();
                TestDomain.MmuUpdate(k, index);
            }
            Update(0, () => a.mov(ecx, gdt | P | W));                                   // the hypervisor's GDT, writable
            Update(1, () => a.mov(ecx, gdt | P));                                       // and read-only
            Update(2, () => a.mov(ecx, 0xFFFF_F000 | P));                               // past the end of memory
            Update(3, () => a.lea(ecx, __[ebp + (int)(Page * (1 + (Probe >> 22)) + P + W)])); // its own page table, writable
            Update(4, () => a.lea(ecx, __[ebp + (int)(P + W)]));                         // its page directory, writable
            a.push(edi);
            a.lea(ebx, __[ebp + FrameTable.GuestSlots * 4]);                            // a hypervisor slot of its directory
            a.xor(ecx, ecx);
            TestDomain.MmuUpdate(k, 5);
            a.lea(ebx, __[ebp + 16 * 4]);                                               // a directory entry naming the directory
            a.lea(ecx, __[ebp + (int)(P + W)]);
            TestDomain.MmuUpdate(k, 6);
            a.mov(ebx, gdt >> 12);                                                      // pin a hypervisor frame
            TestDomain.MmuExtOp(k, MmuExt.PinL1Table, 7);
            a.mov(edi, Garbage);                                                        // a "directory" mapping frames that do not exist
            a.mov(eax, 0x1234_5007);
            a.mov(ecx, 1024);
            a.rep.stosd();
            a.mov(ebx, Garbage >> 12);
            TestDomain.MmuExtOp(k, MmuExt.NewBasePtr, 8);                               // refused: it is mapped writable
            a.lea(ebx, __[ebp + (int)(Page + (Garbage >> 12) * 4)]);
            a.mov(ecx, Garbage | P);
            TestDomain.MmuUpdate(k, 9);                                                 // read-only now
            a.mov(ebx, Garbage >> 12);
            TestDomain.MmuExtOp(k, MmuExt.NewBasePtr, 10);                              // refused: its entries do not validate
            a.pop(edi);

            // The guest goes on: a valid update of the probe's entry, a flush, and a read through the new mapping.
            Update(11, () => a.mov(ecx, Target | P));
            a.mov(ebx, Probe);
            TestDomain.MmuExtOp(k, MmuExt.InvlpgLocal, 12);
            a.mov(__dword_ptr[Target], Marker);
            a.mov(eax, __dword_ptr[Probe]);
            a.mov(__dword_ptr[TestDomain.Results + 13 * 4], eax);
            TestDomain.Finish(k, "test guest done\n");
        });
        var before = domain.Hypervisor.Frames.Snapshot();
        var outcome = domain.Run();

        Assert.Equal(OutcomeKind.EngineStop, outcome.Kind);
        Assert.Contains("the guest domain shut down (poweroff)", outcome.Message);
        Assert.Equal("test guest done\n", domain.Pc.Uart.Output);
        int[] expected = [-Error.EPERM, -Error.EPERM, -Error.EPERM, -Error.EINVAL, -Error.EINVAL, -Error.EINVAL, -Error.EINVAL,
            -Error.EPERM, -Error.EINVAL, 0, -Error.EPERM, 0, 0, unchecked((int)Marker)];
        Assert.Equal(expected, Enumerable.Range(0, expected.Length).Select(domain.Result));

        // Unharmed: the only frames whose type or count changed are the two the valid updates stopped mapping writable.
        var after = domain.Hypervisor.Frames.Snapshot();
        var changed = Enumerable.Range(0, before.Length).Where(f => before[f] != after[f]).ToArray();
        Assert.Equal([(int)(Garbage >> 12), (int)(Probe >> 12)], changed);
        Assert.All(changed, f => Assert.Equal(((PageType.Writable, 1, false), (PageType.None, 0, false)), (before[f], after[f])));
        uint directory = TestDomain.Layout.BootstrapDirectory;
        Assert.Equal(directory, domain.Pc.Cpu.Cr3);
        Assert.Equal(TestDomain.Layout.HypervisorTable | P | W, domain.Pc.Memory.Read32(directory + FrameTable.GuestSlots * 4) & ~0x60u);
        Assert.Equal(0u, domain.Pc.Memory.Read32(directory + 16 * 4));
        Assert.Equal(Target | P | 0x20, domain.Pc.Memory.Read32(directory + Page + (Probe >> 12) * 4)); // accessed by the read
        var counters = domain.Pc.Counters;
        Assert.Equal((9ul, 9ul, 4ul), (counters[Event.HypercallMmuUpdate], counters[Event.HypercallMmuUpdateEntry], counters[Event.HypercallMmuExtOp]));
    }

    public static TheoryData<string> PrivilegedInstructions() => ["cli", "in", "out", "mov cr3", "hlt", "wrmsr", "lidt", "invlpg"];

    [Theory]
    [MemberData(nameof(PrivilegedInstructions))]
    public void A_privileged_instruction_at_ring_1_is_refused_and_counted(string instruction)
    {
        var domain = TestDomain.Boot(k =>
        {
            var a = k.A;
            switch (instruction)
            {
                case "cli": a.cli(); break;
                case "in": a.@in(al, dx); break;
                case "out": a.@out(dx, al); break;
                case "mov cr3": a.mov(cr3, eax); break;
                case "hlt": a.hlt(); break;
                case "wrmsr": a.wrmsr(); break;
                case "lidt": a.lidt(__[TestDomain.Arguments]); break;
                case "invlpg": a.invlpg(__[TestDomain.Arguments]); break;
            }
            TestDomain.Finish(k, "not reached\n");
        });
        var outcome = domain.Run();
        Assert.Equal(OutcomeKind.EngineStop, outcome.Kind);
        Assert.Contains("#GP (error 0x0) with no handler registered", outcome.Message);
        Assert.Equal(1ul, domain.Pc.Counters[Event.TrapPrivilegedInstruction]);
        Assert.Equal("", domain.Pc.Uart.Output);
    }

    [Fact]
    public void The_guest_segments_end_below_the_hypervisor_so_its_tables_are_out_of_reach()
    {
        var domain = TestDomain.Boot(k =>
        {
            k.A.mov(eax, __dword_ptr[HypervisorBase]);   // the GDT: mapped, but beyond the segment limit
            TestDomain.Finish(k, "not reached\n");
        });
        var outcome = domain.Run();
        Assert.Contains("#GP (error 0x0) with no handler registered", outcome.Message);
        Assert.Equal(0ul, domain.Pc.Counters[Event.TrapPrivilegedInstruction]);
    }
}
