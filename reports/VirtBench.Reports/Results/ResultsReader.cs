using System.Text.Json;
using Iced.Intel;
using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Reports.Profiles;

namespace VirtBench.Reports.Results;

/// <summary>
/// Reads results.json back (schema version <see cref="SuiteResults.CurrentSchemaVersion"/>): parameters, pairs
/// and their exact counts. The priced figures in the file are not read but recomputed from the counts with the
/// profile stored in the file; re-price with another profile through <see cref="Pricing.SuitePricer"/>.
/// </summary>
public static class ResultsReader
{
    private static readonly Dictionary<string, Event> EventsByName = System.Enum.GetValues<Event>().ToDictionary(e => e.ToString());
    private static readonly Dictionary<string, Mnemonic> MnemonicsByName = System.Enum.GetValues<Mnemonic>().ToDictionary(m => m.ToString());
    private static readonly Dictionary<string, ExecutionMode> ModesByName = System.Enum.GetValues<ExecutionMode>().ToDictionary(m => m.ToString());

    /// <summary>Reads a results file; every problem is a <see cref="ResultsException"/> with a one-line message.</summary>
    public static SuiteResults Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ResultsException(path, "", ex is FileNotFoundException or DirectoryNotFoundException ? "file not found" : $"cannot read: {ex.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>Parses results JSON; <paramref name="file"/> names it in errors.</summary>
    public static SuiteResults Parse(string json, string file)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new ResultsException(file, $"line {(ex.LineNumber ?? 0) + 1}", "bad JSON (not a results file?)");
        }
        using (document)
        {
            var root = new CheckedJson(document.RootElement, file, "");
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("schema", out var schema)
                || schema.ValueKind != JsonValueKind.String || schema.GetString() != ResultsWriter.SchemaName)
                throw new ResultsException(file, "schema", $"is not \"{ResultsWriter.SchemaName}\": not a virtbench results file");
            int version = root["schemaVersion"].Int32();
            if (version != SuiteResults.CurrentSchemaVersion)
                throw new ResultsException(file, "schemaVersion", $"{version} is not supported (this virtbench reads version {SuiteResults.CurrentSchemaVersion})");

            var host = root["host"];
            var parameters = root["parameters"];
            var profileElement = document.RootElement.TryGetProperty("profile", out var p) && p.ValueKind == JsonValueKind.Object ? p : (JsonElement?)null;
            var results = new SuiteResults
            {
                ToolVersion = root["tool"]["version"].String(),
                Created = ParseDate(root["created"]),
                Host = new HostInfo(host["os"].String(), host["architecture"].String(), host["processorCount"].Int32(),
                    host["processorName"].String(), host["dotnet"].String()),
                Parameters = new RunParameters
                {
                    Engines = parameters["engines"].Items().Select(i => i.String()).ToList(),
                    Workloads = parameters["workloads"].Items().Select(i => i.String()).ToList(),
                    IterationScale = parameters["iterationScale"].Double(),
                    TlbEntries = parameters["tlbEntries"].Int32(),
                    RamBytes = parameters["ramBytes"].UInt32(),
                    InstructionBudget = parameters["instructionBudget"].UInt64(),
                    AdaptiveTranslation = parameters["adaptiveTranslation"].Boolean(),
                    Jobs = parameters["jobs"].Int32(),
                },
                Engines = root["engines"].Items()
                    .Select(e => new EngineSummary(e["name"].String(), e["description"].String(), e["flavor"].Enum<KernelFlavor>("flavor")))
                    .ToList(),
                Workloads = root["workloads"].Items()
                    .Select(w => new WorkloadSummary(w["name"].String(), w["description"].String(), w["iterations"].UInt32()))
                    .ToList(),
                Results = root["results"].Items().Select(ReadResult).ToList(),
            };
            return profileElement is { } embedded ? Pricing.SuitePricer.Apply(results, ReadProfile(embedded, file)) : results;
        }
    }

    private static CostProfile ReadProfile(JsonElement element, string file)
    {
        try
        {
            return ProfileCatalog.Parse(element.GetRawText(), $"{file} (profile)", $"{file} (embedded)");
        }
        catch (ProfileException ex)
        {
            throw new ResultsException(ex.Message);
        }
    }

    private static DateTimeOffset ParseDate(CheckedJson value) =>
        DateTimeOffset.TryParse(value.String(), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var date)
            ? date
            : throw value.Fail("must be an ISO 8601 date");

    private static PairResult ReadResult(CheckedJson r) => new()
    {
        Engine = r["engine"].String(),
        Workload = r["workload"].String(),
        Iterations = r["iterations"].UInt32(),
        Status = r["status"].Enum<RunStatus>("status"),
        Message = r["message"].String(),
        Outcome = r["outcome"].String(),
        ExitStatus = r["exitStatus"].IsNull ? null : r["exitStatus"].Int32(),
        Ops = r["ops"].UInt64(),
        OutputChecksum = r["outputChecksum"].String(),
        OutputLength = r["outputLength"].Int32(),
        TotalGuestInstructions = r["totalGuestInstructions"].UInt64(),
        HostSeconds = r["hostSeconds"].Double(),
        Measured = r["counts"].IsNull ? null : ReadCounts(r["counts"]),
        Holes = r["holes"].Items().Select(h => new VirtualizationHole(
            h["guestAddress"].UInt32(), h["location"].String(), h["instruction"].String(),
            h["guestSaw"].String(), h["shouldHaveSeen"].String(), h["count"].UInt64())).ToList(),
    };

    /// <summary>Rebuilds exact counters; the emulation total must agree with the per-mnemonic emulations.</summary>
    private static Counters ReadCounts(CheckedJson counts)
    {
        var c = new Counters();
        ulong emulations = 0;
        foreach (var (name, value) in counts["emulations"].Properties())
        {
            if (!MnemonicsByName.TryGetValue(name, out var m)) throw value.Fail("unknown mnemonic");
            ulong n = value.UInt64();
            c.AddEmulation(m, n);
            emulations += n;
        }
        foreach (var (name, value) in counts["events"].Properties())
        {
            if (!EventsByName.TryGetValue(name, out var e)) throw value.Fail("unknown event (written by a newer virtbench?)");
            ulong n = value.UInt64();
            if (e == Event.InstructionEmulated)
            {
                if (n < emulations) throw value.Fail($"is {n}, less than the {emulations} emulations listed by mnemonic");
                n -= emulations;
            }
            c.Add(e, n);
        }
        if (emulations > 0 && !counts["events"].Value.TryGetProperty(nameof(Event.InstructionEmulated), out _))
            throw counts["events"].Fail($"lacks InstructionEmulated although {emulations} emulations are listed");
        foreach (var (modeName, byMode) in counts["instructions"].Properties())
        {
            if (!ModesByName.TryGetValue(modeName, out var mode)) throw byMode.Fail("unknown execution mode");
            foreach (var (name, value) in byMode.Properties())
            {
                if (!MnemonicsByName.TryGetValue(name, out var m)) throw value.Fail("unknown mnemonic");
                c.AddInstructions(mode, m, value.UInt64());
            }
        }
        return c;
    }
}
