using System.Text.Json;

namespace VirtBench.Reports.Results;

/// <summary>
/// A JSON value with its path in the document, whose typed accessors refuse wrong or missing values with a
/// one-line <see cref="ResultsException"/> naming the file and the path.
/// </summary>
internal readonly record struct CheckedJson(JsonElement Value, string File, string Path)
{
    public CheckedJson this[string name]
    {
        get
        {
            RequireKind(JsonValueKind.Object, "an object");
            string path = Path.Length == 0 ? name : $"{Path}.{name}";
            return Value.TryGetProperty(name, out var child)
                ? new CheckedJson(child, File, path)
                : throw new ResultsException(File, path, "is missing");
        }
    }

    public bool IsNull => Value.ValueKind == JsonValueKind.Null;

    public string String()
    {
        RequireKind(JsonValueKind.String, "a string");
        return Value.GetString()!;
    }

    public ulong UInt64() => Value.ValueKind == JsonValueKind.Number && Value.TryGetUInt64(out ulong v) ? v : throw Wrong("a whole number >= 0");

    public uint UInt32() => Value.ValueKind == JsonValueKind.Number && Value.TryGetUInt32(out uint v) ? v : throw Wrong("a whole number >= 0 below 2^32");

    public int Int32() => Value.ValueKind == JsonValueKind.Number && Value.TryGetInt32(out int v) ? v : throw Wrong("a whole number");

    public double Double() => Value.ValueKind == JsonValueKind.Number && Value.TryGetDouble(out double v) && double.IsFinite(v) ? v : throw Wrong("a number");

    public bool Boolean() => Value.ValueKind is JsonValueKind.True or JsonValueKind.False ? Value.GetBoolean() : throw Wrong("true or false");

    public IEnumerable<CheckedJson> Items()
    {
        RequireKind(JsonValueKind.Array, "an array");
        int i = 0;
        foreach (var item in Value.EnumerateArray()) yield return new CheckedJson(item, File, $"{Path}[{i++}]");
    }

    public IEnumerable<(string Name, CheckedJson Value)> Properties()
    {
        RequireKind(JsonValueKind.Object, "an object");
        foreach (var p in Value.EnumerateObject()) yield return (p.Name, new CheckedJson(p.Value, File, $"{Path}.{p.Name}"));
    }

    public T Enum<T>(string what) where T : struct, System.Enum
    {
        string text = String();
        foreach (var v in System.Enum.GetValues<T>())
            if (string.Equals(v.ToString(), text, StringComparison.OrdinalIgnoreCase)) return v;
        throw Fail($"unknown {what} '{text}' (expected {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))})");
    }

    public ResultsException Fail(string problem) => new(File, Path, problem);

    private ResultsException Wrong(string expected) => Fail($"must be {expected}, got {Shown()}");

    private void RequireKind(JsonValueKind kind, string expected)
    {
        if (Value.ValueKind != kind) throw Wrong(expected);
    }

    private string Shown()
    {
        string raw = Value.ValueKind == JsonValueKind.Object ? "an object" : Value.ValueKind == JsonValueKind.Array ? "an array" : Value.GetRawText();
        return raw.Length <= 40 ? raw : raw[..37] + "...";
    }
}
