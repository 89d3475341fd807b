namespace VirtBench.Workloads;

/// <summary>
/// A workload: guest programs plus an iteration count. Its init program opens the measured region on the bench
/// port with <see cref="Operations"/>, runs, closes it, prints its result line (see <see cref="WorkloadCatalog"/>)
/// and exits 0, which ends the run with QEMU exit status 1.
/// </summary>
public sealed class Workload
{
    private readonly Func<uint, ulong> _operations;
    private readonly Func<uint, uint> _checksum;
    private readonly Func<uint, IReadOnlyList<GuestProgram>> _programs;

    internal Workload(string name, WorkloadKind kind, string description, uint defaultIterations, uint maxIterations,
        Func<uint, ulong> operations, Func<uint, uint> checksum, Func<uint, IReadOnlyList<GuestProgram>> programs)
    {
        Name = name;
        Kind = kind;
        Description = description;
        DefaultIterations = defaultIterations;
        MaxIterations = maxIterations;
        _operations = operations;
        _checksum = checksum;
        _programs = programs;
    }

    /// <summary>The name used on the command line.</summary>
    public string Name { get; }

    /// <summary>Nano or macro.</summary>
    public WorkloadKind Kind { get; }

    /// <summary>One line: what it stresses.</summary>
    public string Description { get; }

    /// <summary>Iterations whose measured region runs roughly 1 to 10 million guest instructions.</summary>
    public uint DefaultIterations { get; }

    /// <summary>The largest iteration count accepted.</summary>
    public uint MaxIterations { get; }

    /// <summary>The operation count the guest declares for its measured region.</summary>
    public ulong Operations(uint iterations) => _operations(CheckIterations(iterations));

    /// <summary>The checksum the guest must print, computed in C#.</summary>
    public uint ExpectedChecksum(uint iterations) => _checksum(CheckIterations(iterations));

    /// <summary>The exact result line the guest must print (without the newline).</summary>
    public string ExpectedResultLine(uint iterations) =>
        $"RESULT workload={Name} ops={Operations(iterations)} checksum=0x{ExpectedChecksum(iterations):x8}";

    /// <summary>The programs of the image; program 0 is init.</summary>
    internal IReadOnlyList<GuestProgram> Programs(uint iterations) => _programs(CheckIterations(iterations));

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason for an iteration count out of range.</summary>
    public uint CheckIterations(uint iterations)
    {
        if (iterations == 0)
            throw new ArgumentException($"iterations for '{Name}' must be at least 1 (got 0)", nameof(iterations));
        if (iterations > MaxIterations)
            throw new ArgumentException($"iterations for '{Name}' must be at most {MaxIterations} (got {iterations})", nameof(iterations));
        return iterations;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
