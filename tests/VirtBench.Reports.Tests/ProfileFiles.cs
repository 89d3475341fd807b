using System.Text.Json.Nodes;
using VirtBench.Reports.Profiles;

namespace VirtBench.Reports.Tests;

/// <summary>Writes profile files for tests: the shipped <c>modern</c> profile, edited.</summary>
internal sealed class ProfileFiles : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("virtbench-profiles-").FullName;

    /// <summary>The full modern profile as a mutable JSON tree.</summary>
    public static JsonObject Modern() => JsonNode.Parse(ProfileWriter.ToJson(ProfileCatalog.Load("modern")))!.AsObject();

    /// <summary>Writes text to a file named <paramref name="name"/> and returns its path.</summary>
    public string Write(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Writes the modern profile after <paramref name="edit"/> and returns the path.</summary>
    public string WriteModern(string name, Action<JsonObject> edit)
    {
        var json = Modern();
        json["name"] = Path.GetFileNameWithoutExtension(name);
        edit(json);
        return Write(name, json.ToJsonString());
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
