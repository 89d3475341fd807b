namespace VirtBench.Cli;

/// <summary>A mistake in what the user asked for; the message is the one line printed before exiting with status 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
