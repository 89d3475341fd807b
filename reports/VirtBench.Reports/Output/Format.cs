using System.Globalization;

namespace VirtBench.Reports;

/// <summary>Number formats shared by the HTML, Markdown and CSV outputs (invariant culture).</summary>
internal static class Format
{
    /// <summary>Cycles or counts: thousands separators above 100, one decimal below.</summary>
    public static string Cycles(double value) =>
        value >= 100 ? value.ToString("N0", CultureInfo.InvariantCulture) : value.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>An overhead ratio: "1.00x", "12.3x", "140x".</summary>
    public static string Overhead(double? value) => value switch
    {
        null => "-",
        >= 100 => value.Value.ToString("N0", CultureInfo.InvariantCulture) + "x",
        >= 10 => value.Value.ToString("0.0", CultureInfo.InvariantCulture) + "x",
        _ => value.Value.ToString("0.00", CultureInfo.InvariantCulture) + "x",
    };

    /// <summary>A full-precision number for machine-readable outputs (round-trips).</summary>
    public static string Exact(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Host nanoseconds per operation, "-" when unknown: "1,234 ns", "56.7 ns".</summary>
    public static string Nanoseconds(double? value) => value is { } v ? Cycles(v) + " ns" : "-";

    /// <summary>Millions of guest instructions per host second, "-" when unknown: "151.2 M/s".</summary>
    public static string MillionsPerSecond(double? value) => value is { } v ? (v / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + " M/s" : "-";

    /// <summary>Host seconds with three decimals.</summary>
    public static string Seconds(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);

    /// <summary>The first 12 hex digits of a "sha256:..." checksum.</summary>
    public static string ShortChecksum(string checksum) =>
        checksum.StartsWith("sha256:", StringComparison.Ordinal) && checksum.Length > 19 ? checksum[7..19] : checksum;
}
