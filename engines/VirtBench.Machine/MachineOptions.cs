namespace VirtBench.Machine;

/// <summary>Options for building a machine.</summary>
public sealed record MachineOptions
{
    /// <summary>Guest RAM in bytes (a multiple of 4 KiB, at least 4 MiB).</summary>
    public uint RamBytes { get; init; } = Platform.DefaultRamBytes;

    /// <summary>Retired-instruction budget; the run stops with <see cref="OutcomeKind.BudgetExhausted"/> when it is reached.</summary>
    public ulong InstructionBudget { get; init; } = 2_000_000_000;

    /// <summary>TLB entries (a power of two). Misses are counted, so the size is part of the experiment.</summary>
    public int TlbEntries { get; init; } = 64;

    /// <summary>
    /// Machine memory above guest RAM reserved for a VMM (shadow page tables, translation cache, its own
    /// descriptor tables). The guest's physical address space ends at <see cref="RamBytes"/>; this region is
    /// reachable only through mappings the VMM creates.
    /// </summary>
    public uint VmmBytes { get; init; }

    /// <summary>Checks the options and throws <see cref="ArgumentException"/> with a one-line reason.</summary>
    public void Validate()
    {
        if (RamBytes < (4u << 20) || RamBytes % Platform.PageSize != 0 || RamBytes > (1u << 30))
            throw new ArgumentException($"RAM size {RamBytes} bytes is invalid: use a multiple of 4 KiB between 4 MiB and 1 GiB.");
        if (VmmBytes % Platform.PageSize != 0 || VmmBytes > (256u << 20))
            throw new ArgumentException($"VMM memory {VmmBytes} bytes is invalid: use a multiple of 4 KiB up to 256 MiB.");
        if (TlbEntries < 1 || TlbEntries > 65536 || (TlbEntries & (TlbEntries - 1)) != 0)
            throw new ArgumentException($"TLB size {TlbEntries} is invalid: use a power of two from 1 to 65536.");
        if (InstructionBudget == 0)
            throw new ArgumentException("Instruction budget 0 is invalid: use a positive number of instructions.");
    }
}
