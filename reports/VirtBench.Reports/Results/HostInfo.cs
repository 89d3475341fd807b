using System.Runtime.InteropServices;

namespace VirtBench.Reports.Results;

/// <summary>The host that ran the simulator (what host-time figures depend on).</summary>
public sealed record HostInfo(string Os, string Architecture, int ProcessorCount, string ProcessorName, string DotNet)
{
    /// <summary>The machine this process runs on.</summary>
    public static HostInfo Current() => new(
        RuntimeInformation.OSDescription,
        RuntimeInformation.OSArchitecture.ToString(),
        Environment.ProcessorCount,
        ProcessorModel(),
        RuntimeInformation.FrameworkDescription);

    private static string ProcessorModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is var colon and > 0)
                        return line[(colon + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "unknown";
    }
}
