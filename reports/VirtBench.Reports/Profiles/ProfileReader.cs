using System.Text.Json;
using Iced.Intel;
using VirtBench.Machine;

namespace VirtBench.Reports.Profiles;

/// <summary>
/// Reads the profile JSON format (docs/cost-profiles.md) and refuses anything doubtful with a one-line
/// <see cref="ProfileException"/>: bad JSON, unknown properties, events or mnemonics, costs that are not
/// non-negative numbers, missing sources, and events left unpriced once <c>basedOn</c> is applied.
/// </summary>
internal static class ProfileReader
{
    private const string DefaultInstructionKey = "default";
    private static readonly string[] TopLevelKeys = ["name", "description", "year", "basedOn", "events", "instructions"];
    private static readonly string[] EntryKeys = ["cycles", "source"];
    private static readonly Dictionary<string, Event> EventsByName = Enum.GetValues<Event>().ToDictionary(e => e.ToString());
    private static readonly Dictionary<string, Mnemonic> MnemonicsByName = Enum.GetValues<Mnemonic>().ToDictionary(m => m.ToString());
    private static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Skip };

    /// <summary>What one file says, before its base profile is applied.</summary>
    internal sealed class Draft
    {
        public string? Name, Description, BasedOn;
        public int? Year;
        public readonly Dictionary<Event, CostEntry> Events = [];
        public CostEntry? DefaultInstruction;
        public readonly Dictionary<Mnemonic, CostEntry> Instructions = [];
    }

    /// <summary>Parses one profile document; <paramref name="file"/> names it in error messages.</summary>
    public static Draft Parse(string json, string file)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, Options);
        }
        catch (JsonException ex)
        {
            throw new ProfileException(file, $"line {(ex.LineNumber ?? 0) + 1}", $"bad JSON: {FirstSentence(ex.Message)}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ProfileException(file, "", $"a profile must be a JSON object, got {Describe(root)}");
            var draft = new Draft();
            foreach (var property in Properties(root, file, "", TopLevelKeys))
            {
                var value = property.Value;
                switch (property.Name)
                {
                    case "name": draft.Name = RequireString(value, file, "name"); break;
                    case "description": draft.Description = RequireString(value, file, "description"); break;
                    case "basedOn": draft.BasedOn = RequireString(value, file, "basedOn"); break;
                    case "year":
                        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int year))
                            throw new ProfileException(file, "year", $"must be a whole number, got {Describe(value)}");
                        draft.Year = year;
                        break;
                    case "events": ReadEvents(value, file, draft); break;
                    case "instructions": ReadInstructions(value, file, draft); break;
                }
            }
            if (string.IsNullOrWhiteSpace(draft.Name))
                throw new ProfileException(file, "name", "is required (the profile's short name, e.g. \"modern\")");
            return draft;
        }
    }

    /// <summary>Checks that a (merged) draft prices every event and the default instruction, and builds the profile.</summary>
    public static CostProfile Complete(Draft draft, string file, string origin)
    {
        var defaultInstruction = draft.DefaultInstruction
            ?? throw new ProfileException(file, $"instructions.{DefaultInstructionKey}",
                "is required (the cost of an instruction without an entry of its own)");
        var missing = EventInfo.All.Where(e => !draft.Events.ContainsKey(e)).ToList();
        if (missing.Count > 0)
            throw new ProfileException(file, $"events.{missing[0]}",
                $"missing: every event must be priced ({missing.Count} missing: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")})");
        var table = new CostEntry[EventInfo.Count];
        foreach (var (e, cost) in draft.Events) table[(int)e] = cost;
        return new CostProfile(draft.Name!, draft.Description ?? "", draft.Year, origin, table, defaultInstruction, new(draft.Instructions));
    }

    /// <summary>Merges a base draft into a derived one (for chains of <c>basedOn</c>).</summary>
    public static Draft Merge(Draft overrides, Draft baseDraft)
    {
        var merged = new Draft
        {
            Name = overrides.Name,
            Description = overrides.Description ?? baseDraft.Description,
            Year = overrides.Year ?? baseDraft.Year,
            DefaultInstruction = overrides.DefaultInstruction ?? baseDraft.DefaultInstruction,
        };
        foreach (var (e, c) in baseDraft.Events) merged.Events[e] = c;
        foreach (var (e, c) in overrides.Events) merged.Events[e] = c;
        foreach (var (m, c) in baseDraft.Instructions) merged.Instructions[m] = c;
        foreach (var (m, c) in overrides.Instructions) merged.Instructions[m] = c;
        return merged;
    }

    private static void ReadEvents(JsonElement value, string file, Draft draft)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ProfileException(file, "events", $"must be an object of EVENT: {{cycles, source}}, got {Describe(value)}");
        foreach (var property in Properties(value, file, "events", null))
        {
            string entry = $"events.{property.Name}";
            if (!EventsByName.TryGetValue(property.Name, out var e))
                throw new ProfileException(file, entry, $"unknown event{Suggest(property.Name, Enum.GetNames<Event>())}");
            draft.Events[e] = ReadEntry(property.Value, file, entry);
        }
    }

    private static void ReadInstructions(JsonElement value, string file, Draft draft)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ProfileException(file, "instructions", $"must be an object of MNEMONIC: {{cycles, source}}, got {Describe(value)}");
        foreach (var property in Properties(value, file, "instructions", null))
        {
            string entry = $"instructions.{property.Name}";
            if (property.Name == DefaultInstructionKey)
            {
                draft.DefaultInstruction = ReadEntry(property.Value, file, entry);
                continue;
            }
            if (!MnemonicsByName.TryGetValue(property.Name, out var m) || m == Mnemonic.INVALID)
                throw new ProfileException(file, entry,
                    $"unknown mnemonic (use Iced's Mnemonic names such as Mov, Imul, Iretd, or \"default\"){Suggest(property.Name, Enum.GetNames<Mnemonic>())}");
            draft.Instructions[m] = ReadEntry(property.Value, file, entry);
        }
    }

    private static CostEntry ReadEntry(JsonElement value, string file, string entry)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ProfileException(file, entry, $"must be an object {{\"cycles\": N, \"source\": \"...\"}}, got {Describe(value)}");
        double? cycles = null;
        string? source = null;
        foreach (var property in Properties(value, file, entry, EntryKeys))
        {
            if (property.Name == "cycles")
            {
                if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetDouble(out double c) || !double.IsFinite(c))
                    throw new ProfileException(file, $"{entry}.cycles", $"must be a number of cycles >= 0, got {Describe(property.Value)}");
                if (c < 0)
                    throw new ProfileException(file, $"{entry}.cycles", $"must be a number of cycles >= 0, got {property.Value.GetRawText()}");
                cycles = c;
            }
            else
            {
                source = RequireString(property.Value, file, $"{entry}.source");
            }
        }
        if (cycles is null) throw new ProfileException(file, $"{entry}.cycles", "is required (modeled cycles per occurrence, >= 0)");
        if (string.IsNullOrWhiteSpace(source))
            throw new ProfileException(file, $"{entry}.source", "is required (a citation, or \"derived: ...\" / \"assumed: ...\" saying how)");
        return new CostEntry(cycles.Value, source);
    }

    /// <summary>The object's properties, refusing duplicates and (when <paramref name="allowed"/> is given) unknown names.</summary>
    private static IEnumerable<JsonProperty> Properties(JsonElement obj, string file, string path, string[]? allowed)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            string entry = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
            if (!seen.Add(property.Name)) throw new ProfileException(file, entry, "appears twice");
            if (allowed is not null && !allowed.Contains(property.Name))
                throw new ProfileException(file, entry, $"unknown property (expected {string.Join(", ", allowed)})");
            yield return property;
        }
    }

    private static string RequireString(JsonElement value, string file, string entry) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new ProfileException(file, entry, $"must be a string, got {Describe(value)}");

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string {Truncate(value.GetRawText())}",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => value.GetRawText(),
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..37] + "...";

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (cut < 0 ? message : message[..cut]).Trim().TrimEnd('.').Replace('\n', ' ').Replace('\r', ' ');
    }

    /// <summary>" (did you mean 'X'?)" when a known name is close to the unknown one.</summary>
    private static string Suggest(string unknown, IEnumerable<string> known)
    {
        var best = known.Select(k => (Name: k, Distance: EditDistance(unknown.ToLowerInvariant(), k.ToLowerInvariant())))
            .OrderBy(x => x.Distance).ThenBy(x => x.Name, StringComparer.Ordinal).First();
        return best.Distance <= Math.Max(2, unknown.Length / 4) ? $" (did you mean '{best.Name}'?)" : "";
    }

    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
