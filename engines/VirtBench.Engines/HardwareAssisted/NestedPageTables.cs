using VirtBench.Machine.Memory;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// The VMM's nested page tables (EPT): guest-physical to machine translations in the machine's 2-level format
/// (a directory of 1024 entries, each covering 4 MiB through a table of 1024 4-KiB entries), in VMM memory the
/// guest cannot reach. They start empty and are filled on demand, one page per EPT violation, with the identity
/// mapping of guest RAM (guest RAM sits at machine address 0).
/// </summary>
internal sealed class NestedPageTables
{
    private const uint Present = 1, Writable = 2, PageSize = 4096, BytesPerTable = 4u << 20;

    private readonly PhysicalMemory _memory;
    private uint _nextTable;

    /// <summary>Tables for guest RAM of <paramref name="memory"/>, at <paramref name="machineAddress"/> (see <see cref="BytesFor"/>).</summary>
    public NestedPageTables(PhysicalMemory memory, uint machineAddress)
    {
        _memory = memory;
        Root = machineAddress;
        _nextTable = machineAddress + PageSize;
        memory.Fill(Root, PageSize, 0);
    }

    /// <summary>Machine bytes the tables need for guest RAM of this size: the directory and one table per 4 MiB.</summary>
    public static uint BytesFor(uint guestRamBytes) => PageSize * (1 + (guestRamBytes + BytesPerTable - 1) / BytesPerTable);

    /// <summary>Machine address of the nested page directory (the EPT pointer).</summary>
    public uint Root { get; }

    /// <summary>Guest pages mapped so far.</summary>
    public int MappedPages { get; private set; }

    /// <summary>Nested page tables allocated so far.</summary>
    public int Tables { get; private set; }

    /// <summary>Maps the guest-physical page holding <paramref name="guestPhysical"/> (which must be in guest RAM) to itself, readable and writable.</summary>
    public void MapIdentity(uint guestPhysical)
    {
        if (guestPhysical >= _memory.GuestRamBytes)
            throw new ArgumentOutOfRangeException(nameof(guestPhysical), $"0x{guestPhysical:x8} is outside guest RAM");
        uint pdeAddress = Root + (guestPhysical >> 22) * 4;
        uint pde = _memory.Read32(pdeAddress);
        if ((pde & Present) == 0)
        {
            uint table = _nextTable;
            _nextTable += PageSize;
            _memory.Fill(table, PageSize, 0);
            pde = table | Present | Writable;
            _memory.Write32(pdeAddress, pde);
            Tables++;
        }
        uint pteAddress = (pde & ~0xFFFu) + ((guestPhysical >> 12) & 0x3FF) * 4;
        if ((_memory.Read32(pteAddress) & Present) == 0) MappedPages++;
        _memory.Write32(pteAddress, (guestPhysical & ~0xFFFu) | Present | Writable);
    }
}
