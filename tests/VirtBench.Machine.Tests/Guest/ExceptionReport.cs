using System.Globalization;
using System.Text.RegularExpressions;

namespace VirtBench.Machine.Tests.Guest;

/// <summary>
/// The line the test kernel's exception handler prints: "#vv err=xxxxxxxx eip=xxxxxxxx cs=xxxxxxxx cr2=xxxxxxxx".
/// </summary>
internal readonly partial record struct ExceptionReport(int Vector, uint ErrorCode, uint Eip, uint Cs, uint Cr2)
{
    /// <summary>The line, as the kernel prints it.</summary>
    public override string ToString() => $"#{Vector:x2} err={ErrorCode:x8} eip={Eip:x8} cs={Cs:x8} cr2={Cr2:x8}";

    /// <summary>Reads a report line.</summary>
    public static bool TryParse(string line, out ExceptionReport report)
    {
        var m = Pattern().Match(line);
        report = default;
        if (!m.Success) return false;
        uint Hex(int group) => uint.Parse(m.Groups[group].Value, NumberStyles.HexNumber);
        report = new ExceptionReport((int)Hex(1), Hex(2), Hex(3), Hex(4), Hex(5));
        return true;
    }

    [GeneratedRegex("^#([0-9a-f]{2}) err=([0-9a-f]{8}) eip=([0-9a-f]{8}) cs=([0-9a-f]{8}) cr2=([0-9a-f]{8})$")]
    private static partial Regex Pattern();
}
