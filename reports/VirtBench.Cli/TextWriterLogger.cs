using BenchmarkDotNet.Loggers;

namespace VirtBench.Cli;

/// <summary>BenchmarkDotNet's output into a <see cref="TextWriter"/> (the command's output when it is not the console).</summary>
internal sealed class TextWriterLogger(TextWriter writer) : ILogger
{
    public string Id => nameof(TextWriterLogger);
    public int Priority => 0;
    public void Write(LogKind logKind, string text) => writer.Write(text);
    public void WriteLine() => writer.WriteLine();
    public void WriteLine(LogKind logKind, string text) => writer.WriteLine(text);
    public void Flush() => writer.Flush();
}
