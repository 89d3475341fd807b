using System.Reflection;

namespace VirtBench.Reports.Profiles;

/// <summary>
/// The cost profiles shipped inside the tool (embedded <c>profiles/NAME.json</c>), and loading by name or
/// from a user's file. Every failure is a <see cref="ProfileException"/> with a one-line message.
/// </summary>
public static class ProfileCatalog
{
    /// <summary>The profile <c>virtbench run</c> uses unless told otherwise.</summary>
    public const string DefaultName = "modern";

    private const string ResourcePrefix = "profiles/";
    private const int MaxBaseDepth = 8;
    private static readonly Assembly ResourceAssembly = typeof(ProfileCatalog).Assembly;

    private static readonly Lazy<IReadOnlyList<CostProfile>> ShippedProfiles = new(() =>
        ResourceAssembly.GetManifestResourceNames()
            .Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal) && r.EndsWith(".json", StringComparison.Ordinal))
            .Select(r => r[ResourcePrefix.Length..^".json".Length])
            .Select(LoadShipped)
            .OrderBy(p => p.Year ?? int.MaxValue).ThenBy(p => p.Name, StringComparer.Ordinal)
            .ToList());

    /// <summary>Every shipped profile, oldest machine first.</summary>
    public static IReadOnlyList<CostProfile> Shipped => ShippedProfiles.Value;

    /// <summary>
    /// A shipped profile by name, or a profile file by path (anything that ends in <c>.json</c> or names an
    /// existing file).
    /// </summary>
    public static CostProfile Load(string nameOrPath)
    {
        if (ShippedText(nameOrPath) is not null) return Shipped.First(p => p.Name == nameOrPath);
        bool looksLikeFile = nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                             || nameOrPath.Contains(Path.DirectorySeparatorChar) || nameOrPath.Contains('/') || File.Exists(nameOrPath);
        if (!looksLikeFile)
            throw new ProfileException(
                $"unknown profile '{nameOrPath}': expected one of {string.Join(", ", Shipped.Select(p => p.Name))}, or the path of a profile .json file");
        return LoadFile(nameOrPath);
    }

    /// <summary>Loads a profile file (its <c>basedOn</c> may name a shipped profile or a file relative to it).</summary>
    public static CostProfile LoadFile(string path)
    {
        var draft = ReadChain(ReadFile(path, path), path, Path.GetDirectoryName(Path.GetFullPath(path))!, 0);
        return ProfileReader.Complete(draft, path, Path.GetFullPath(path));
    }

    /// <summary>
    /// Parses a profile from JSON text (e.g. the copy stored in a results file); <paramref name="displayName"/>
    /// names it in errors, and a <c>basedOn</c> may name only shipped profiles.
    /// </summary>
    public static CostProfile Parse(string json, string displayName, string origin)
    {
        var draft = ReadChain(ProfileReader.Parse(json, displayName), displayName, null, 0);
        return ProfileReader.Complete(draft, displayName, origin);
    }

    private static CostProfile LoadShipped(string name)
    {
        string file = $"{name}.json (shipped)";
        var draft = ReadChain(ProfileReader.Parse(ShippedText(name)!, file), file, null, 0);
        if (draft.Name != name) throw new ProfileException(file, "name", $"must be \"{name}\", the file's name");
        return ProfileReader.Complete(draft, file, "shipped");
    }

    /// <summary>Applies the draft's <c>basedOn</c> chain (shipped names, or files relative to <paramref name="directory"/>).</summary>
    private static ProfileReader.Draft ReadChain(ProfileReader.Draft draft, string file, string? directory, int depth)
    {
        if (draft.BasedOn is not { } baseName) return draft;
        if (depth >= MaxBaseDepth) throw new ProfileException(file, "basedOn", $"chain is longer than {MaxBaseDepth} (circular?)");
        ProfileReader.Draft baseDraft;
        string baseFile;
        string? baseDirectory = null;
        if (ShippedText(baseName) is { } text)
        {
            baseFile = $"{baseName}.json (shipped)";
            baseDraft = ProfileReader.Parse(text, baseFile);
        }
        else if (directory is not null && File.Exists(Path.Combine(directory, baseName)))
        {
            baseFile = Path.Combine(directory, baseName);
            baseDraft = ReadFile(baseFile, file);
            baseDirectory = Path.GetDirectoryName(Path.GetFullPath(baseFile));
        }
        else
        {
            throw new ProfileException(file, "basedOn",
                $"unknown profile '{baseName}': expected one of {string.Join(", ", ShippedNames())}"
                + (directory is null ? "" : ", or a profile file relative to this one"));
        }
        return ProfileReader.Merge(draft, ReadChain(baseDraft, baseFile, baseDirectory, depth + 1));
    }

    private static ProfileReader.Draft ReadFile(string path, string referrer)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            string problem = ex is FileNotFoundException or DirectoryNotFoundException ? "file not found" : $"cannot read: {ex.Message}";
            throw new ProfileException(path == referrer ? path : $"{referrer}: basedOn {path}", "", problem);
        }
        return ProfileReader.Parse(text, path);
    }

    private static IEnumerable<string> ShippedNames() =>
        ResourceAssembly.GetManifestResourceNames()
            .Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(r => r[ResourcePrefix.Length..^".json".Length]).Order(StringComparer.Ordinal);

    /// <summary>The JSON text of a shipped profile, or null when no profile has that name.</summary>
    internal static string? ShippedText(string name)
    {
        if (name.Length == 0 || name.IndexOfAny(['/', '\\']) >= 0) return null;
        using var stream = ResourceAssembly.GetManifestResourceStream($"{ResourcePrefix}{name}.json");
        if (stream is null) return null;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
