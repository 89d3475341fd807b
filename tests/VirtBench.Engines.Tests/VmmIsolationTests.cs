using VirtBench.Machine;
using VirtBench.Workloads;
using VirtBench.Workloads.User;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests;

/// <summary>
/// The VMM's memory stays out of the guest's reach: an access to the hypervisor region (0xFC000000 and up) and a
/// guest page-table entry naming a frame beyond guest RAM (where the VMM's own tables lie) end in guest exceptions,
/// at ring 0 (hand-written kernels) and from user programs.
/// </summary>
public class VmmIsolationTests
{
    public static TheoryData<string> Vmms => ["trap-emulate", "trap-emulate-pg", "binary-translation"];

    private static EngineRun Run(string engine, GuestImage image) =>
        EngineCatalog.Get(engine).Run(image, new RunOptions { Machine = new MachineOptions { InstructionBudget = 5_000_000 } });

    [Theory]
    [MemberData(nameof(Vmms))]
    public void Touching_the_unmapped_hypervisor_region_is_the_page_fault_native_gives(string engine)
    {
        foreach (var (write, error) in new[] { (false, "00000000"), (true, "00000002") })
        {
            var image = BareKernel.Build("hole", (a, _) =>
            {
                BareKernel.EnablePaging(a);
                if (write) a.mov(__dword_ptr[0xFC00_0010], eax); else a.mov(eax, __dword_ptr[0xFC00_0010]);
            });
            var native = Run("native", image);
            var vmm = Run(engine, image);

            Assert.True(vmm.Outcome.IsSuccess, vmm.Outcome.ToString());
            Assert.StartsWith($"vector=0000000e error={error} cr2=fc000010 eip=", vmm.UartOutput);
            Assert.Equal(native.UartOutput, vmm.UartOutput);
        }
    }

    [Theory]
    [MemberData(nameof(Vmms))]
    public void The_hypervisor_region_stays_the_VMMs_even_where_the_guest_maps_it(string engine)
    {
        var image = BareKernel.Build("hole-mapped", (a, hex) =>
        {
            BareKernel.EnablePaging(a, m =>
            {
                m.mov(__dword_ptr[BareKernel.Directory + 1008 * 4], BareKernel.HoleTable | 3);
                m.mov(__dword_ptr[BareKernel.HoleTable], 0x5000 | 3);
            });
            a.mov(__dword_ptr[0x5000], 0x1234_5678);
            a.mov(eax, __dword_ptr[0xFC00_0000]);
            a.call(hex);
        });
        var native = Run("native", image);
        var vmm = Run(engine, image);

        Assert.Equal("12345678done\n", native.UartOutput);
        Assert.True(vmm.Outcome.IsSuccess, vmm.Outcome.ToString());
        Assert.StartsWith("vector=0000000d error=00000000 cr2=00000000 eip=", vmm.UartOutput);
    }

    [Theory]
    [MemberData(nameof(Vmms))]
    public void A_guest_entry_naming_a_frame_beyond_guest_RAM_is_a_page_fault_never_a_mapping(string engine)
    {
        // Guest RAM is 64 MiB: frame 0x04000000 is the first of the VMM's region, which holds its real GDT.
        foreach (var (write, error) in new[] { (false, "00000001"), (true, "00000003") })
        {
            var image = BareKernel.Build("beyond-ram", (a, hex) =>
            {
                BareKernel.EnablePaging(a, m =>
                {
                    m.mov(__dword_ptr[BareKernel.Directory + 4], BareKernel.Table1 | 3);
                    m.mov(__dword_ptr[BareKernel.Table1], 0x0400_0000 | 3);
                });
                if (write) a.mov(__dword_ptr[0x0040_0008], eax); else a.mov(eax, __dword_ptr[0x0040_0008]);
                a.call(hex);
            });
            var native = Run("native", image);
            var vmm = Run(engine, image);

            Assert.EndsWith("done\n", native.UartOutput); // bare metal: an empty bus (reads all ones, drops writes)
            Assert.True(vmm.Outcome.IsSuccess, vmm.Outcome.ToString());
            Assert.StartsWith($"vector=0000000e error={error} cr2=00400008 eip=", vmm.UartOutput);
        }
    }

    [Theory]
    [MemberData(nameof(Vmms))]
    public void A_user_program_reading_the_hypervisor_region_is_killed_as_on_native(string engine)
    {
        var image = ImageBuilder.BuildKernel("user-hole", KernelFlavor.Native, [new GuestProgram("user-hole", u =>
        {
            u.A.mov(eax, __dword_ptr[0xFFFF_F000]);
            u.Exit(0);
        })]).Image;
        var native = Run("native", image);
        var vmm = Run(engine, image);

        Assert.Contains("page fault at 0xfffff000", native.UartOutput);
        Assert.Equal(native.UartOutput, vmm.UartOutput);
        Assert.Equal(native.Outcome, vmm.Outcome);
    }
}
