using VirtBench.Machine;

namespace VirtBench.Engines.Paravirt;

/// <summary>Machine addresses of the hypervisor's frames in the VMM region (above guest RAM).</summary>
/// <param name="Gdt">The real GDT.</param>
/// <param name="Idt">The real IDT.</param>
/// <param name="Tss">The real TSS.</param>
/// <param name="HypervisorTable">The page table of the hypervisor slot (maps the three above at 0xFC000000).</param>
/// <param name="SharedInfo">The shared-info page.</param>
/// <param name="BootstrapDirectory">The bootstrap page directory (a guest frame); its tables follow it.</param>
/// <param name="BootstrapTables">How many bootstrap page tables follow the directory.</param>
internal sealed record HypervisorLayout(uint Gdt, uint Idt, uint Tss, uint HypervisorTable, uint SharedInfo, uint BootstrapDirectory, int BootstrapTables)
{
    private const int FixedFrames = 6;

    /// <summary>The layout for a machine with this much guest RAM (the VMM region starts right after it).</summary>
    public static HypervisorLayout For(uint ramBytes)
    {
        uint page = Platform.PageSize, at = ramBytes;
        int tables = (int)Math.Max(ramBytes >> 22, (ParavirtAbi.SharedInfo.LinearAddress >> 22) + 1);
        return new HypervisorLayout(at, at + page, at + 2 * page, at + 3 * page, at + 4 * page, at + 5 * page, tables);
    }

    /// <summary>Bytes of VMM region the layout needs.</summary>
    public uint VmmBytes => (uint)(FixedFrames + BootstrapTables) * Platform.PageSize;
}
