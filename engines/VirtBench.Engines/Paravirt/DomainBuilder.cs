using System.Text;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

/// <summary>
/// Xen's domain builder for the multiboot-loaded paravirtual kernel (docs/paravirt.md): gives the guest its RAM
/// frames and the bootstrap page-table frames, builds the hypervisor's tables, a validated bootstrap address space
/// that identity-maps guest RAM (with the shared-info page at <see cref="SharedInfo.LinearAddress"/> and the
/// hypervisor's slot), fills the start-info page, and starts the kernel at its multiboot entry at ring 1 with paging
/// on and events masked (EAX and EBX as multiboot leaves them).
/// </summary>
internal static class DomainBuilder
{
    private const uint Present = 1, Writable = 2;

    /// <summary>Builds the domain on a freshly loaded machine and attaches the hypervisor.</summary>
    public static Hypervisor Build(Pc pc)
    {
        var memory = pc.Memory;
        var cpu = pc.Cpu;
        var layout = HypervisorLayout.For(memory.GuestRamBytes);
        var hypervisor = new Hypervisor(pc, layout);
        var frames = hypervisor.Frames;

        uint guestFrames = memory.GuestRamBytes >> 12;
        for (uint f = 0; f < memory.Size >> 12; f++) frames.SetOwner(f, f < guestFrames ? FrameOwner.Guest : FrameOwner.Hypervisor);
        frames.SetOwner(layout.SharedInfo >> 12, FrameOwner.Shared);
        for (int t = 0; t <= layout.BootstrapTables; t++) frames.SetOwner((layout.BootstrapDirectory >> 12) + (uint)t, FrameOwner.Guest);

        // The hypervisor's slot: one page table mapping the GDT, IDT and TSS, supervisor-only and beyond every guest segment.
        memory.Fill(layout.HypervisorTable, Platform.PageSize, 0);
        var tableFrames = hypervisor.Tables.Frames;
        for (int i = 0; i < tableFrames.Count; i++) memory.Write32(layout.HypervisorTable + (uint)i * 4, tableFrames[i] | Present | Writable);
        frames.SetHypervisorSlot(0, layout.HypervisorTable | Present | Writable);

        memory.Fill(layout.SharedInfo, Platform.PageSize, 0);
        hypervisor.Shared.Masked = true;
        memory.Fill(DeviceRing.Address, Platform.PageSize, 0);
        WriteStartInfo(memory, layout);
        BuildBootstrap(memory, layout);

        hypervisor.Tables.Install(cpu);
        frames.Counting = false;
        if (frames.Pin(layout.BootstrapDirectory >> 12, PageType.L2) != 0)
            throw new InvalidOperationException("the bootstrap page tables do not validate");
        hypervisor.SetInitialBase(cpu, layout.BootstrapDirectory >> 12);
        frames.Counting = true;

        cpu.SetCr4(0);
        cpu.SetCr0(0x8001_0011);   // PG, WP, ET, PE
        cpu.LoadSegmentUnchecked(SegReg.Cs, Gdt.FlatRing1Code);
        foreach (var r in new[] { SegReg.Ss, SegReg.Ds, SegReg.Es, SegReg.Fs, SegReg.Gs }) cpu.LoadSegmentUnchecked(r, Gdt.FlatRing1Data);
        cpu.Esp = BootStackTop;
        cpu.Eflags = 0x202;        // the real IF is always set; the guest's virtual IF is the shared page's mask
        cpu.Monitor = hypervisor;
        cpu.ExternalInterruptsToMonitor = true;
        return hypervisor;
    }

    private static void WriteStartInfo(PhysicalMemory memory, HypervisorLayout layout)
    {
        uint at = StartInfo.Address;
        memory.Fill(at, Platform.PageSize, 0);
        memory.Write(at, Encoding.ASCII.GetBytes(StartInfo.Magic));
        memory.Write32(at + StartInfo.NrPages, memory.GuestRamBytes >> 12);
        memory.Write32(at + StartInfo.SharedInfoAddress, layout.SharedInfo);
        memory.Write32(at + StartInfo.PtBase, layout.BootstrapDirectory);
        memory.Write32(at + StartInfo.NrPtFrames, (uint)layout.BootstrapTables + 1);
        memory.Write32(at + StartInfo.DeviceRing, DeviceRing.Address);
        memory.Write32(at + StartInfo.DeviceRingPort, EventChannel.DeviceRingPort);
        memory.Write32(at + StartInfo.FirstIrqPort, EventChannel.FirstIrqPort);
    }

    /// <summary>The bootstrap address space: guest RAM identity-mapped (page 0 left out), the shared-info page at its address.</summary>
    private static void BuildBootstrap(PhysicalMemory memory, HypervisorLayout layout)
    {
        uint directory = layout.BootstrapDirectory;
        memory.Fill(directory, (uint)(layout.BootstrapTables + 1) * Platform.PageSize, 0);
        for (uint t = 0; t < layout.BootstrapTables; t++)
            memory.Write32(directory + t * 4, directory + (t + 1) * Platform.PageSize | Present | Writable);
        uint firstTable = directory + Platform.PageSize;
        for (uint f = 1; f < memory.GuestRamBytes >> 12; f++) memory.Write32(firstTable + f * 4, f << 12 | Present | Writable);
        memory.Write32(firstTable + (SharedInfo.LinearAddress >> 12) * 4, layout.SharedInfo | Present | Writable);
    }
}
