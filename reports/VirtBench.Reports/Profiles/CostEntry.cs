namespace VirtBench.Reports.Profiles;

/// <summary>One priced item of a cost profile: modeled cycles and where the figure comes from.</summary>
/// <param name="Cycles">Modeled cycles per occurrence (non-negative; fractions allowed).</param>
/// <param name="Source">A citation, or an openly stated derivation ("derived: ...") or assumption ("assumed: ...").</param>
public sealed record CostEntry(double Cycles, string Source)
{
    /// <summary>Whether <see cref="Source"/> cites a publication, derives the figure, or assumes it.</summary>
    public SourceKind Kind =>
        Source.StartsWith("derived", StringComparison.OrdinalIgnoreCase) ? SourceKind.Derived
        : Source.StartsWith("assumed", StringComparison.OrdinalIgnoreCase) ? SourceKind.Assumed
        : SourceKind.Cited;
}

/// <summary>How a profile figure was obtained, as its source string says.</summary>
public enum SourceKind
{
    /// <summary>Taken from a publication named in the source.</summary>
    Cited,
    /// <summary>Computed from cited figures, with the arithmetic in the source.</summary>
    Derived,
    /// <summary>No published figure was available; the source states the assumption.</summary>
    Assumed,
}
