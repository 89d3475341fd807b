using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

/// <summary>
/// The real GDT, IDT and TSS the CPU uses, in hypervisor frames mapped at <see cref="HypervisorBase"/> in every
/// address space and out of the guest's reach (its segments end below). The guest's descriptors enter the GDT only
/// through set_gdt, checked as Xen's check_descriptor does; the IDT holds only the direct system-call gate; the TSS
/// holds the ring-1 stack set with stack_switch.
/// </summary>
internal sealed class DescriptorTables(PhysicalMemory memory, uint gdt, uint idt, uint tss)
{
    private const int TssBytes = 104;

    /// <summary>Linear addresses of the three tables.</summary>
    public const uint GdtLinear = HypervisorBase, IdtLinear = HypervisorBase + 0x1000, TssLinear = HypervisorBase + 0x2000;

    /// <summary>Machine addresses of the GDT, IDT and TSS frames (in this order at <see cref="GdtLinear"/>).</summary>
    public IReadOnlyList<uint> Frames { get; } = [gdt, idt, tss];

    /// <summary>Writes the hypervisor's descriptors and TSS, and loads GDTR, IDTR and TR.</summary>
    public void Install(Cpu cpu)
    {
        memory.Fill(gdt, Platform.PageSize, 0);
        memory.Fill(idt, Platform.PageSize, 0);
        memory.Fill(tss, Platform.PageSize, 0);
        WriteDescriptor(Gdt.TssSelector, TssDescriptor(TssLinear, TssBytes - 1));
        WriteDescriptor(Gdt.FlatRing1Code, FlatDescriptor(dpl: 1, code: true));
        WriteDescriptor(Gdt.FlatRing1Data, FlatDescriptor(dpl: 1, code: false));
        WriteDescriptor(Gdt.FlatRing3Code, FlatDescriptor(dpl: 3, code: true));
        WriteDescriptor(Gdt.FlatRing3Data, FlatDescriptor(dpl: 3, code: false));
        memory.Write16(tss + 102, TssBytes);          // I/O map base past the limit: no port is allowed
        SetKernelStack(Gdt.FlatRing1Data, 0);
        cpu.Gdtr = new DescriptorTableRegister(GdtLinear, (ushort)(Platform.PageSize - 1));
        cpu.Idtr = new DescriptorTableRegister(IdtLinear, 256 * 8 - 1);
        var descriptor = ReadDescriptor(Gdt.TssSelector);
        var tr = Segment.FromDescriptor(Gdt.TssSelector, (uint)descriptor, (uint)(descriptor >> 32));
        tr.Rights |= 0x2;  // busy, as ltr leaves it
        cpu.Tr = tr;
    }

    /// <summary>
    /// set_gdt: replaces the guest's part of the GDT with <paramref name="descriptors"/>, each checked (and fixed
    /// up) first. Nothing changes unless every descriptor is acceptable.
    /// </summary>
    public int SetGuestDescriptors(ReadOnlySpan<ulong> descriptors)
    {
        if (descriptors.Length > Gdt.FirstReservedEntry) return -Error.EINVAL;
        var checkedDescriptors = new ulong[descriptors.Length];
        for (int i = 0; i < descriptors.Length; i++)
            if (!CheckDescriptor(descriptors[i], out checkedDescriptors[i])) return -Error.EINVAL;
        for (int i = 0; i < Gdt.FirstReservedEntry; i++)
            WriteDescriptor((ushort)(i * 8), i < descriptors.Length ? checkedDescriptors[i] : 0);
        return 0;
    }

    /// <summary>
    /// Xen's check_descriptor for a 32-bit guest: not-present descriptors pass; system descriptors (TSS, LDT,
    /// gates) are refused; a DPL of 0 becomes 1 (the guest kernel's ring); expand-down data is refused; a limit
    /// reaching the hypervisor's area is truncated below it. The accessed bit is preset so the CPU never writes it.
    /// </summary>
    public static bool CheckDescriptor(ulong descriptor, out ulong result)
    {
        result = descriptor;
        uint low = (uint)descriptor, high = (uint)(descriptor >> 32);
        if ((high & 0x8000) == 0) return true;
        if ((high & 0x1000) == 0) return false;
        bool code = (high & 0x800) != 0;
        if (!code && (high & 0x400) != 0) return false;
        if ((high & 0x6000) == 0) high |= 0x2000;
        uint base_ = (low >> 16) | ((high & 0xFF) << 16) | (high & 0xFF00_0000);
        if (base_ > GuestSegmentLimit) return false;
        bool pages = (high & 0x80_0000) != 0;
        uint limit = (low & 0xFFFF) | (high & 0xF_0000);
        ulong bytes = pages ? ((ulong)limit << 12) | 0xFFF : limit;
        if (base_ + bytes > GuestSegmentLimit)
        {
            ulong allowed = GuestSegmentLimit - base_;
            limit = pages ? (uint)(allowed >> 12) : (uint)allowed;
            if (pages && ((ulong)limit << 12 | 0xFFF) > allowed) limit--;
            low = (low & 0xFFFF_0000) | (limit & 0xFFFF);
            high = (high & ~0xF_0000u) | (limit & 0xF_0000);
        }
        high |= 0x100;
        result = low | (ulong)high << 32;
        return true;
    }

    /// <summary>stack_switch: the ring-1 stack the CPU switches to on entry from user mode (TSS.SS1:ESP1).</summary>
    public void SetKernelStack(ushort ss, uint esp)
    {
        memory.Write32(tss + 12, esp);
        memory.Write32(tss + 16, ss);
    }

    /// <summary>The ring-1 stack of the next entry from user mode.</summary>
    public (ushort Ss, uint Esp) KernelStack => ((ushort)memory.Read32(tss + 16), memory.Read32(tss + 12));

    /// <summary>Installs a DPL-3 trap gate that enters the guest kernel directly (no hypervisor entry).</summary>
    public void SetDirectGate(int vector, ushort cs, uint eip)
    {
        uint at = idt + (uint)vector * 8;
        memory.Write32(at, ((uint)cs << 16) | (eip & 0xFFFF));
        memory.Write32(at + 4, (eip & 0xFFFF_0000) | 0xEF00);
    }

    /// <summary>Removes a direct gate (the vector goes through the hypervisor again).</summary>
    public void ClearGate(int vector)
    {
        memory.Write32(idt + (uint)vector * 8, 0);
        memory.Write32(idt + (uint)vector * 8 + 4, 0);
    }

    private ulong ReadDescriptor(ushort selector) =>
        memory.Read32(gdt + (uint)(selector & ~7)) | (ulong)memory.Read32(gdt + (uint)(selector & ~7) + 4) << 32;

    private void WriteDescriptor(ushort selector, ulong descriptor)
    {
        memory.Write32(gdt + (uint)(selector & ~7), (uint)descriptor);
        memory.Write32(gdt + (uint)(selector & ~7) + 4, (uint)(descriptor >> 32));
    }

    /// <summary>A flat 32-bit segment up to the hypervisor's area, accessed bit preset.</summary>
    private static ulong FlatDescriptor(int dpl, bool code)
    {
        uint limit = GuestSegmentLimit >> 12;
        uint low = limit & 0xFFFF;
        uint high = (limit & 0xF_0000) | 0x00C0_9000 | (uint)dpl << 13 | (code ? 0xB00u : 0x300u);
        return low | (ulong)high << 32;
    }

    private static ulong TssDescriptor(uint base_, uint limit)
    {
        uint low = (base_ << 16) | (limit & 0xFFFF);
        uint high = (base_ & 0xFF00_0000) | 0x8900 | ((base_ >> 16) & 0xFF) | (limit & 0xF_0000);
        return low | (ulong)high << 32;
    }
}
