namespace VirtBench.Reports;

/// <summary>Turns names (workloads, engines) into safe file-name parts.</summary>
internal static class FileNames
{
    /// <summary>Letters, digits, '-' and '_' kept; anything else becomes '_'.</summary>
    public static string Safe(string name) =>
        new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
}
