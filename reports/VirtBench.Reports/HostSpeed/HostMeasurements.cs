using System.Text;
using System.Text.Json;
using VirtBench.Reports.Results;

namespace VirtBench.Reports.HostSpeed;

/// <summary>
/// The host-speed measurements a report folder may hold beside results.json: bench.json (<c>virtbench bench</c>)
/// and peers.json (<c>virtbench peers</c>). Either may be absent.
/// </summary>
/// <param name="Bench">BenchmarkDotNet's measurements of the engines, or null.</param>
/// <param name="Peers">QEMU's output check and speed on the same images, or null.</param>
public sealed record HostMeasurements(BenchResults? Bench, PeerResults? Peers)
{
    /// <summary>The file <c>virtbench bench</c> writes in the report folder.</summary>
    public const string BenchFile = "bench.json";

    /// <summary>The file <c>virtbench peers</c> writes in the report folder.</summary>
    public const string PeersFile = "peers.json";

    /// <summary>bench.json's "schema" value.</summary>
    public const string BenchSchema = "virtbench-bench";

    /// <summary>peers.json's "schema" value.</summary>
    public const string PeersSchema = "virtbench-peers";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>No measurements.</summary>
    public static HostMeasurements None { get; } = new(null, null);

    /// <summary>
    /// The measurements in a report folder. A file that is there but unreadable is a one-line
    /// <see cref="ResultsException"/>, or, when <paramref name="warn"/> is given, passed to it and left out.
    /// </summary>
    public static HostMeasurements Load(string directory, Action<string>? warn = null) => new(
        Read<BenchResults>(Path.Combine(directory, BenchFile), BenchSchema, warn),
        Read<PeerResults>(Path.Combine(directory, PeersFile), PeersSchema, warn));

    /// <summary>Writes bench.json into <paramref name="directory"/>, merged with the measurements already there.</summary>
    public static string SaveBench(BenchResults bench, string directory)
    {
        string path = Path.Combine(directory, BenchFile);
        var earlier = Read<BenchResults>(path, BenchSchema, _ => { }); // an unreadable earlier file is replaced, not merged
        return Write(path, earlier is null ? bench : earlier.MergedWith(bench));
    }

    /// <summary>Writes peers.json into <paramref name="directory"/>.</summary>
    public static string SavePeers(PeerResults peers, string directory) => Write(Path.Combine(directory, PeersFile), peers);

    /// <summary>Writes the files that are present into <paramref name="directory"/> (a report folder copies what it shows).</summary>
    public IReadOnlyList<string> SaveTo(string directory)
    {
        var files = new List<string>();
        if (Bench is not null) files.Add(Write(Path.Combine(directory, BenchFile), Bench));
        if (Peers is not null) files.Add(SavePeers(Peers, directory));
        return files;
    }

    private static string Write<T>(string path, T value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(value, Json) + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return path;
    }

    private static T? Read<T>(string path, string schema, Action<string>? warn) where T : class
    {
        try
        {
            return Read<T>(path, schema);
        }
        catch (ResultsException ex) when (warn is not null)
        {
            warn(ex.Message);
            return null;
        }
    }

    private static T? Read<T>(string path, string schema) where T : class
    {
        if (!File.Exists(path)) return null;
        string origin = $"(not written by virtbench {(schema == BenchSchema ? "bench" : "peers")}?)";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new ResultsException(path, $"line {(ex.LineNumber ?? 0) + 1}", $"bad JSON {origin}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ResultsException(path, "", $"cannot read: {ex.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("schema", out var name)
                || name.ValueKind != JsonValueKind.String || name.GetString() != schema)
                throw new ResultsException(path, "schema", $"is not \"{schema}\" {origin}");
            try
            {
                return root.Deserialize<T>(Json) ?? throw new ResultsException(path, "", $"is empty {origin}");
            }
            catch (JsonException ex)
            {
                string problem = ex.Message.Contains("missing required properties", StringComparison.Ordinal) ? "lacks a required field" : "has the wrong type or value";
                throw new ResultsException(path, ex.Path ?? "", $"{problem} {origin}");
            }
        }
    }
}
