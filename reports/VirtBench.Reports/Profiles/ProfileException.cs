namespace VirtBench.Reports.Profiles;

/// <summary>
/// A cost profile was refused. <see cref="Exception.Message"/> is one line naming the file, the entry and
/// the problem, ready to print as it is.
/// </summary>
public sealed class ProfileException(string message) : Exception(message)
{
    /// <summary>Builds the one-line message "FILE: ENTRY: PROBLEM".</summary>
    internal ProfileException(string file, string entry, string problem)
        : this(entry.Length == 0 ? $"{file}: {problem}" : $"{file}: {entry}: {problem}") { }
}
