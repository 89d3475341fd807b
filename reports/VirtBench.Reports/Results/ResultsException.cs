namespace VirtBench.Reports.Results;

/// <summary>A results file was refused; <see cref="Exception.Message"/> is one line naming the file, the entry and the problem.</summary>
public sealed class ResultsException(string message) : Exception(message)
{
    /// <summary>Builds the one-line message "FILE: ENTRY: PROBLEM".</summary>
    internal ResultsException(string file, string entry, string problem)
        : this(entry.Length == 0 ? $"{file}: {problem}" : $"{file}: {entry}: {problem}") { }
}
