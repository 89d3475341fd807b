using Iced.Intel;
using VirtBench.Engines.Vmm;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.BinaryTranslation.Runtime;

/// <summary>
/// The VMM data that translated code reaches through %gs, as VMware's translator reserved %gs for its own data: the
/// guest's virtual interrupt flag and IOPL (what in-TC cli, sti, pushf and popf read and write), whether an
/// interrupt is held, the guest's own %gs selector, save slots for the registers a sequence borrows, and the
/// guest-to-translation lookup table of indirect branches. It lives in VMM memory, mapped supervisor-only in the
/// hypervisor region; the VMM reads and writes it directly (by machine address).
/// </summary>
internal sealed class TranslatorData
{
    /// <summary>Linear address of the area (the base of the %gs segment).</summary>
    public const uint Linear = HypervisorRegion.Base + 0x0010_0000;

    /// <summary>The guest's IF as an EFLAGS bit: 0 or 0x200.</summary>
    public const int InterruptFlag = 0x00;
    /// <summary>The guest's IOPL as EFLAGS bits (IOPL &lt;&lt; 12).</summary>
    public const int Iopl = 0x04;
    /// <summary>0x200 while an interrupt is held for the guest's IF (so that enabling it calls out), else 0.</summary>
    public const int PendingInterrupt = 0x08;
    /// <summary>The guest's %gs selector (the real %gs is the VMM's while translated code runs).</summary>
    public const int GuestGs = 0x0C;
    /// <summary>The guest EIP an indirect branch goes to, when its lookup misses (read by the VMM).</summary>
    public const int LookupTarget = 0x10;
    /// <summary>The translation an indirect branch jumps to, after a lookup hit.</summary>
    public const int JumpTarget = 0x14;
    /// <summary>The guest's IF before its last in-TC sti (an sti that sets IF delays interrupts by one instruction).</summary>
    public const int InterruptFlagBeforeSti = 0x18;
    /// <summary>Save slots of EAX..EDI, for the registers a sequence borrows.</summary>
    public const int SavedRegisters = 0x20;

    /// <summary>
    /// The lookup table: <see cref="LookupEntries"/> entries of (guest EIP, translation address). An empty entry holds
    /// the complement of its index as its EIP, which no EIP that lands on it can equal.
    /// </summary>
    public const int LookupTable = 0x1000;
    /// <summary>Entries of the lookup table, indexed by the low 13 bits of the guest EIP.</summary>
    public const int LookupEntries = 8192;

    /// <summary>Bytes of the area.</summary>
    public const uint Bytes = LookupTable + LookupEntries * 8;

    private readonly PhysicalMemory _memory;

    /// <summary>Allocates the area, maps it in every shadow address space and describes the %gs segment over it.</summary>
    public TranslatorData(DeprivilegedVmm vmm)
    {
        _memory = vmm.Pc.Memory;
        Machine = vmm.Memory.Allocate(Bytes);
        for (uint offset = 0; offset < Bytes; offset += 4096)
            vmm.Shadows.MapHypervisorPage(Linear + offset, Machine + offset, writable: true);
        vmm.Tables.InstallGuestRingDataSegment(Linear, Bytes);
    }

    /// <summary>Machine address of the area.</summary>
    public uint Machine { get; }

    /// <summary>The %gs selector of translated code.</summary>
    public static ushort Selector => MonitorDescriptorTables.GuestRingDataSelector;

    /// <summary>The save slot of a 32-bit general register.</summary>
    public static int Saved(Register register) => SavedRegisters + 4 * (register - Register.EAX);

    /// <summary>Reads a dword of the area.</summary>
    public uint Read(int offset) => _memory.Read32(Machine + (uint)offset);

    /// <summary>Writes a dword of the area.</summary>
    public void Write(int offset, uint value) => _memory.Write32(Machine + (uint)offset, value);

    /// <summary>The lookup table index of a guest EIP (what the in-TC probe computes: the low 13 bits).</summary>
    public static int LookupIndex(uint eip) => (int)(eip & (LookupEntries - 1));

    /// <summary>Sets a lookup entry: guest EIP to translation address.</summary>
    public void SetLookup(uint eip, uint translation)
    {
        uint at = Machine + LookupTable + (uint)LookupIndex(eip) * 8;
        _memory.Write32(at, eip);
        _memory.Write32(at + 4, translation);
    }

    /// <summary>Empties the lookup entry of a guest EIP if it still points at <paramref name="translation"/>.</summary>
    public void ClearLookup(uint eip, uint translation)
    {
        uint at = Machine + LookupTable + (uint)LookupIndex(eip) * 8;
        if (_memory.Read32(at) == eip && _memory.Read32(at + 4) == translation) Empty(LookupIndex(eip));
    }

    /// <summary>Empties the whole lookup table.</summary>
    public void ClearLookups()
    {
        for (int index = 0; index < LookupEntries; index++) Empty(index);
    }

    private void Empty(int index)
    {
        uint at = Machine + LookupTable + (uint)index * 8;
        _memory.Write32(at, ~(uint)index);
        _memory.Write32(at + 4, 0);
    }
}
