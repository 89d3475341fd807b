using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The real GDT, IDT and TSS of a VMM that runs the guest kernel at ring 1 (trap-and-emulate, binary translation).
/// They live in VMM memory and are mapped supervisor-only in the hypervisor region of every shadow address space.
/// The real GDT mirrors the guest's (its virtual GDTR) entry for entry, so guest selectors keep working, with two
/// changes: descriptors of DPL 0 get DPL 1 (<see cref="GuestRings"/>) and every segment ends below the hypervisor
/// region (<see cref="HypervisorRegion.Truncate"/>). The guest's system descriptors (TSS, LDT, gates) are not
/// copied: the VMM emulates ltr and lldt. The last four entries are the VMM's own (a ring-1 data segment over VMM
/// memory for code the VMM runs at the guest kernel's ring, then its ring-0 data, code and TSS).
/// </summary>
/// <remarks>
/// The real IDT's gates name the VMM's ring-0 code segment; in this simulator the CPU hands every exception and
/// interrupt to the engine's <see cref="Machine.Monitor.IMonitor"/> before it consults any IDT, which stands for
/// the VMM's handlers. The real TSS has no I/O bitmap, so every port access from ring 1 or 3 faults into the VMM,
/// and the real SYSENTER_CS is 0, so sysenter faults too.
/// </remarks>
public sealed class MonitorDescriptorTables
{
    /// <summary>Entries in the real GDT (the architectural maximum).</summary>
    public const int GdtEntries = 8192;

    /// <summary>The VMM's ring-0 data, code and TSS selectors (the last three GDT entries).</summary>
    public const ushort VmmDataSelector = (GdtEntries - 3) * 8, VmmCodeSelector = (GdtEntries - 2) * 8, VmmTssSelector = (GdtEntries - 1) * 8;

    /// <summary>
    /// A ring-1 data segment over VMM memory (see <see cref="InstallGuestRingDataSegment"/>): a binary translator's
    /// translated code reaches its own data through it, as VMware's did through %gs.
    /// </summary>
    public const ushort GuestRingDataSelector = (GdtEntries - 4) * 8 | GuestRings.KernelRing;

    /// <summary>Guest GDT entries the real GDT can mirror (the VMM's four come after).</summary>
    public const int GuestEntries = GdtEntries - 4;

    /// <summary>Linear addresses of the tables in the hypervisor region.</summary>
    public const uint GdtLinear = HypervisorRegion.Base, IdtLinear = GdtLinear + GdtEntries * 8, TssLinear = IdtLinear + 4096;

    private const int TssBytes = 104;
    private const uint FlatPagesLimit = 0x000F_FFFF;
    private readonly PhysicalMemory _memory;
    private readonly uint _gdt, _idt, _tss;
    private int _mirrored;

    /// <summary>Allocates the tables in VMM memory and maps them in the hypervisor region of every shadow.</summary>
    public MonitorDescriptorTables(VmmMemory vmm, ShadowPageTables shadows)
    {
        _memory = vmm.Memory;
        _gdt = vmm.Allocate(GdtEntries * 8);
        _idt = vmm.Allocate(4096);
        _tss = vmm.Allocate(4096);
        for (uint offset = 0; offset < GdtEntries * 8; offset += 4096) shadows.MapHypervisorPage(GdtLinear + offset, _gdt + offset, writable: true);
        shadows.MapHypervisorPage(IdtLinear, _idt, writable: false);
        shadows.MapHypervisorPage(TssLinear, _tss, writable: true);

        WriteEntry(GdtEntries - 3, Descriptor(HypervisorRegion.Base, 0x3FF, 0x92, pages: true));
        WriteEntry(GdtEntries - 2, Descriptor(HypervisorRegion.Base, 0x3FF, 0x9A, pages: true));
        WriteEntry(GdtEntries - 1, Descriptor(TssLinear, TssBytes - 1, 0x89, pages: false, system: true));
        for (uint vector = 0; vector < 256; vector++)
        {
            uint handler = vector * 16;   // the VMM's entry stub for the vector, in its code segment
            _memory.Write32(_idt + vector * 8, ((uint)VmmCodeSelector << 16) | (handler & 0xFFFF));
            _memory.Write32(_idt + vector * 8 + 4, (handler & 0xFFFF_0000) | 0x8E00);
        }
        _memory.Write32(_tss + 4, 0x0040_0000);                  // ESP0: top of the VMM's code segment
        _memory.Write32(_tss + 8, VmmDataSelector);              // SS0
        _memory.Write16(_tss + 102, TssBytes);                   // I/O map base past the limit: no bitmap
    }

    /// <summary>
    /// Describes <see cref="GuestRingDataSelector"/>: a writable data segment of DPL 1 over <paramref name="bytes"/> at
    /// <paramref name="linearBase"/> (in the hypervisor region, mapped supervisor-only: code at ring 3 cannot reach it,
    /// and no guest segment reaches that high).
    /// </summary>
    public void InstallGuestRingDataSegment(uint linearBase, uint bytes)
    {
        if (!HypervisorRegion.Contains(linearBase) || bytes == 0 || bytes > 0x10_0000)
            throw new ArgumentOutOfRangeException(nameof(linearBase), $"0x{linearBase:x8}+{bytes} is not a range of at most 1 MiB in the hypervisor region");
        WriteEntry(GdtEntries - 4, Descriptor(linearBase, bytes - 1, 0xB2, pages: false));
    }

    /// <summary>
    /// Before the guest loads a GDT of its own: flat code and data at the selectors multiboot leaves in CS (0x08)
    /// and the data registers (0x10), deprivileged and truncated like any guest descriptor.
    /// </summary>
    public void InstallBootDescriptors()
    {
        Clear();
        WriteGuestEntry(1, Descriptor(0, FlatPagesLimit, 0x9A, pages: true));
        WriteGuestEntry(2, Descriptor(0, FlatPagesLimit, 0x92, pages: true));
        _mirrored = 3;
    }

    /// <summary>Loads the real GDTR, IDTR and TR, and makes sysenter fault (real SYSENTER_CS = 0).</summary>
    public void LoadInto(Cpu cpu)
    {
        cpu.Gdtr = new DescriptorTableRegister(GdtLinear, GdtEntries * 8 - 1);
        cpu.Idtr = new DescriptorTableRegister(IdtLinear, 256 * 8 - 1);
        uint low = _memory.Read32(_gdt + VmmTssSelector), high = _memory.Read32(_gdt + VmmTssSelector + 4) | 0x200; // busy
        _memory.Write32(_gdt + VmmTssSelector + 4, high);
        cpu.Tr = Segment.FromDescriptor(VmmTssSelector, low, high);
        cpu.Ldtr = Segment.Null(0);
        cpu.SysenterCs = 0;
    }

    /// <summary>Rebuilds the mirrored entries from the guest's GDT (after lgdt, or a write to a traced GDT page).</summary>
    public void Mirror(VirtualCpu vcpu)
    {
        int count = Math.Min((vcpu.Gdtr.Limit + 1) / 8, GuestEntries);
        Clear(count);
        var memory = vcpu.Memory;
        for (int i = 1; i < count; i++)
        {
            uint at = vcpu.Gdtr.Base + (uint)i * 8;
            bool read = memory.TryRead(at, 4, false, out uint low, out _) & memory.TryRead(at + 4, 4, false, out uint high, out _);
            WriteGuestEntry(i, read ? (low, high) : (0, 0));
        }
        _mirrored = count;
    }

    /// <summary>A guest descriptor as the real GDT holds it: code and data deprivileged and truncated, anything else absent.</summary>
    public static (uint Low, uint High) Deprivilege(uint low, uint high)
    {
        if ((high & 0x1000) == 0) return (0, 0);
        return HypervisorRegion.Truncate(low, GuestRings.RealDescriptorHigh(high));
    }

    private void WriteGuestEntry(int index, (uint Low, uint High) guest) => WriteEntry(index, Deprivilege(guest.Low, guest.High));

    private void WriteEntry(int index, (uint Low, uint High) descriptor)
    {
        _memory.Write32(_gdt + (uint)index * 8, descriptor.Low);
        _memory.Write32(_gdt + (uint)index * 8 + 4, descriptor.High);
    }

    /// <summary>Zeroes the mirrored entries from <paramref name="from"/> on (those the last mirror wrote).</summary>
    private void Clear(int from = 0)
    {
        if (_mirrored > from) _memory.Fill(_gdt + (uint)from * 8, (uint)(_mirrored - from) * 8, 0);
    }

    private static (uint Low, uint High) Descriptor(uint segmentBase, uint limit, uint access, bool pages, bool system = false) =>
        ((segmentBase << 16) | (limit & 0xFFFF),
         (segmentBase & 0xFF00_0000) | ((segmentBase >> 16) & 0xFF) | (access << 8) | (limit & 0x000F_0000) |
         (pages ? 0x0080_0000u : 0) | (system ? 0 : 0x0040_0000u));
}
