using System.Text;
using System.Text.Json;
using VirtBench.Machine;
using VirtBench.Reports.Pricing;
using VirtBench.Reports.Profiles;

namespace VirtBench.Reports.Results;

/// <summary>Writes results.json (schema version <see cref="SuiteResults.CurrentSchemaVersion"/>, docs/results-schema.md).</summary>
public static class ResultsWriter
{
    /// <summary>The document's "schema" value.</summary>
    public const string SchemaName = "virtbench-results";

    /// <summary>The results as an indented JSON document.</summary>
    public static string ToJson(SuiteResults results)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            Write(json, results);
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void Write(Utf8JsonWriter json, SuiteResults results)
    {
        json.WriteStartObject();
        json.WriteString("schema", SchemaName);
        json.WriteNumber("schemaVersion", SuiteResults.CurrentSchemaVersion);
        json.WriteStartObject("tool");
        json.WriteString("name", "virtbench");
        json.WriteString("version", results.ToolVersion);
        json.WriteEndObject();
        json.WriteString("created", results.Created.ToUniversalTime().ToString("O"));
        WriteHost(json, results.Host);
        WriteParameters(json, results.Parameters, results.Profile);
        json.WriteStartArray("engines");
        foreach (var e in results.Engines)
        {
            json.WriteStartObject();
            json.WriteString("name", e.Name);
            json.WriteString("description", e.Description);
            json.WriteString("flavor", e.Flavor.ToString().ToLowerInvariant());
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("workloads");
        foreach (var w in results.Workloads)
        {
            json.WriteStartObject();
            json.WriteString("name", w.Name);
            json.WriteString("description", w.Description);
            json.WriteNumber("iterations", w.Iterations);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        if (results.Profile is { } profile)
        {
            json.WritePropertyName("profile");
            ProfileWriter.Write(json, profile);
        }
        json.WriteStartArray("results");
        foreach (var r in results.Results) WriteResult(json, r, results.Profile);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteHost(Utf8JsonWriter json, HostInfo host)
    {
        json.WriteStartObject("host");
        json.WriteString("os", host.Os);
        json.WriteString("architecture", host.Architecture);
        json.WriteNumber("processorCount", host.ProcessorCount);
        json.WriteString("processorName", host.ProcessorName);
        json.WriteString("dotnet", host.DotNet);
        json.WriteEndObject();
    }

    private static void WriteParameters(Utf8JsonWriter json, RunParameters p, CostProfile? profile)
    {
        json.WriteStartObject("parameters");
        WriteStrings(json, "engines", p.Engines);
        WriteStrings(json, "workloads", p.Workloads);
        json.WriteNumber("iterationScale", p.IterationScale);
        json.WriteNumber("tlbEntries", p.TlbEntries);
        json.WriteNumber("ramBytes", p.RamBytes);
        json.WriteNumber("instructionBudget", p.InstructionBudget);
        json.WriteBoolean("adaptiveTranslation", p.AdaptiveTranslation);
        json.WriteNumber("jobs", p.Jobs);
        if (profile is not null) json.WriteString("profile", profile.Name);
        json.WriteEndObject();
    }

    private static void WriteResult(Utf8JsonWriter json, PairResult r, CostProfile? profile)
    {
        json.WriteStartObject();
        json.WriteString("engine", r.Engine);
        json.WriteString("workload", r.Workload);
        json.WriteNumber("iterations", r.Iterations);
        json.WriteString("status", r.Status.ToString().ToLowerInvariant());
        json.WriteString("message", r.Message);
        json.WriteString("outcome", r.Outcome);
        if (r.ExitStatus is int exit) json.WriteNumber("exitStatus", exit);
        else json.WriteNull("exitStatus");
        json.WriteNumber("ops", r.Ops);
        json.WriteString("outputChecksum", r.OutputChecksum);
        json.WriteNumber("outputLength", r.OutputLength);
        json.WriteNumber("guestInstructions", r.GuestInstructions);
        json.WriteNumber("totalGuestInstructions", r.TotalGuestInstructions);
        json.WriteNumber("hostSeconds", r.HostSeconds);
        if (r.GuestInstructionsPerHostSecond is double speed) json.WriteNumber("guestInstructionsPerHostSecond", speed);
        else json.WriteNull("guestInstructionsPerHostSecond");
        if (r.Measured is { } counts)
        {
            json.WritePropertyName("counts");
            WriteCounts(json, counts);
        }
        else
        {
            json.WriteNull("counts");
        }
        json.WriteStartArray("holes");
        foreach (var h in r.Holes)
        {
            json.WriteStartObject();
            json.WriteNumber("guestAddress", h.GuestAddress);
            json.WriteString("location", h.Location);
            json.WriteString("instruction", h.Instruction);
            json.WriteString("guestSaw", h.GuestSaw);
            json.WriteString("shouldHaveSeen", h.ShouldHaveSeen);
            json.WriteNumber("count", h.Count);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        if (r.Priced is { } priced && profile is not null)
        {
            json.WriteStartObject("priced");
            json.WriteString("profile", profile.Name);
            json.WriteString("unit", "modeled cycles per operation");
            json.WriteNumber("cyclesPerOp", priced.CyclesPerOp);
            json.WriteStartObject("byCategory");
            foreach (var (category, cycles) in priced.ByCategoryPerOp.Items) json.WriteNumber(category.ToString(), cycles);
            json.WriteEndObject();
            if (priced.OverheadVsNative is double overhead) json.WriteNumber("overheadVsNative", overhead);
            else json.WriteNull("overheadVsNative");
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("priced");
        }
        json.WriteEndObject();
    }

    private static void WriteCounts(Utf8JsonWriter json, Counters counts)
    {
        json.WriteStartObject();
        json.WriteStartObject("events");
        foreach (var (e, n) in counts.EventCounts()) json.WriteNumber(e.ToString(), n);
        json.WriteEndObject();
        json.WriteStartObject("instructions");
        foreach (var byMode in counts.InstructionCounts().GroupBy(c => c.Mode))
        {
            json.WriteStartObject(byMode.Key.ToString());
            foreach (var (_, mnemonic, n) in byMode) json.WriteNumber(mnemonic.ToString(), n);
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteStartObject("emulations");
        foreach (var (mnemonic, n) in counts.EmulationCounts()) json.WriteNumber(mnemonic.ToString(), n);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var v in values) json.WriteStringValue(v);
        json.WriteEndArray();
    }
}
