using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Tests.Vmx;

/// <summary>The VMCS: guest-state fields are the CPU's registers, every VMREAD and VMWRITE counts, exit fields are read-only, and the field formats are Intel's.</summary>
public class VmcsTests
{
    private static Pc Machine() => new(TestImage.Build(a => TestImage.Exit(a)));

    [Fact]
    public void Each_read_and_write_counts_once_and_inspection_not_at_all()
    {
        var pc = Machine();
        var vmcs = new Vmcs(pc.Cpu);
        vmcs.Write(VmcsField.GuestRip, 0x0012_3456);
        Assert.Equal(0x0012_3456u, pc.Cpu.Eip);
        Assert.Equal(0x0012_3456u, vmcs.Read(VmcsField.GuestRip));
        Assert.Equal(0x0012_3456u, vmcs.Inspect(VmcsField.GuestRip));
        vmcs.Read(VmcsField.ExitReason);
        Assert.Equal(2ul, pc.Counters[Event.VmcsRead]);
        Assert.Equal(1ul, pc.Counters[Event.VmcsWrite]);
    }

    [Fact]
    public void Guest_state_fields_read_and_write_the_cpus_registers()
    {
        var pc = Machine();
        var cpu = pc.Cpu;
        var vmcs = new Vmcs(cpu);
        Assert.Equal(cpu.Cr0, vmcs.Read(VmcsField.GuestCr0));
        Assert.Equal(0x08u, vmcs.Read(VmcsField.GuestCsSelector));
        Assert.Equal(0xC09Bu, vmcs.Read(VmcsField.GuestCsAccessRights));
        Assert.Equal(0xFFFF_FFFFu, vmcs.Read(VmcsField.GuestDsLimit));
        Assert.Equal(1u << 16, vmcs.Read(VmcsField.GuestLdtrAccessRights)); // null LDTR: unusable

        vmcs.Write(VmcsField.GuestRsp, 0x9000);
        vmcs.Write(VmcsField.GuestRflags, 0x202);
        vmcs.Write(VmcsField.GuestCr3, 0x0040_0000);
        vmcs.Write(VmcsField.GuestGdtrBase, 0x1000);
        vmcs.Write(VmcsField.GuestGdtrLimit, 0x3F);
        vmcs.Write(VmcsField.GuestSysenterEip, 0xC000_1000);
        vmcs.Write(VmcsField.GuestDsBase, 0x10_0000);
        vmcs.Write(VmcsField.GuestCsSelector, 0x1B);
        vmcs.Write(VmcsField.GuestActivityState, (uint)GuestActivityState.Hlt);

        Assert.Equal(0x9000u, cpu.Esp);
        Assert.True(cpu.InterruptsEnabled);
        Assert.Equal(0x0040_0000u, cpu.Cr3);
        Assert.Equal(0x0040_0000u, cpu.Mmu.Root);
        Assert.Equal(new DescriptorTableRegister(0x1000, 0x3F), cpu.Gdtr);
        Assert.Equal(0xC000_1000u, cpu.SysenterEip);
        Assert.Equal(0x10_0000u, cpu.Segment(SegReg.Ds).Base);
        Assert.Equal(3, cpu.Cpl);
        Assert.True(cpu.Halted);
    }

    [Fact]
    public void Exit_information_fields_are_read_only()
    {
        var vmcs = new Vmcs(Machine().Cpu);
        var e = Assert.Throws<InvalidOperationException>(() => vmcs.Write(VmcsField.ExitQualification, 1));
        Assert.Contains("read-only", e.Message);
    }

    [Fact]
    public void Interruption_information_has_intels_layout()
    {
        Assert.Equal(0x8000_0020u, InterruptionInfo.Of(0x20, InterruptionType.ExternalInterrupt).Encode());
        Assert.Equal(0x8000_0B0Eu, InterruptionInfo.Of(14, InterruptionType.HardwareException, true).Encode());
        Assert.Equal(0x8000_0480u, InterruptionInfo.Of(0x80, InterruptionType.SoftwareInterrupt).Encode());
        Assert.Equal(0u, InterruptionInfo.None.Encode());
        Assert.Equal(InterruptionInfo.Of(3, InterruptionType.SoftwareException), InterruptionInfo.Decode(0x8000_0603));
        Assert.False(InterruptionInfo.Decode(0x0000_0603).Valid);
    }

    [Fact]
    public void Exit_qualifications_have_intels_layout()
    {
        // mov cr3, ebx: CR 3, type 0, register 3.
        Assert.Equal(0x303u, new CrAccessQualification(3, CrAccessType.MovToCr, Reg.Ebx).Encode());
        // lmsw from memory with source 0x000B.
        Assert.Equal(0x000B_0070u, new CrAccessQualification(0, CrAccessType.Lmsw, Reg.Eax, true, 0xB).Encode());
        // in al, 0x21: size 1, in, immediate.
        Assert.Equal(0x0021_0048u, new IoQualification(0x21, 1, In: true, ImmediatePort: true).Encode());
        // rep outsd to dx: size 4, out, string, rep.
        Assert.Equal(0x03F8_0033u, new IoQualification(0x3F8, 4, In: false, String: true, Rep: true).Encode());
        // A write to a read-only page, final translation of a valid linear address.
        var q = new EptViolationQualification(false, true, false, true, false, true, true, true);
        Assert.Equal(0x1AAu, q.Encode());
        Assert.Equal(q, EptViolationQualification.Decode(0x1AA));
        foreach (uint raw in new[] { 0x303u, 0x000B_0070u })
            Assert.Equal(raw, CrAccessQualification.Decode(raw).Encode());
        foreach (uint raw in new[] { 0x0021_0048u, 0x03F8_0033u })
            Assert.Equal(raw, IoQualification.Decode(raw).Encode());
    }
}
