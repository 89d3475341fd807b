using System.Text.Json;

namespace VirtBench.Reports.Profiles;

/// <summary>Writes a profile in the profile file format, with every entry spelled out (no <c>basedOn</c>).</summary>
public static class ProfileWriter
{
    /// <summary>Writes the profile as a JSON object at the writer's current position.</summary>
    public static void Write(Utf8JsonWriter json, CostProfile profile)
    {
        json.WriteStartObject();
        json.WriteString("name", profile.Name);
        json.WriteString("description", profile.Description);
        if (profile.Year is int year) json.WriteNumber("year", year);
        json.WriteStartObject("events");
        foreach (var (e, cost) in profile.Events) WriteEntry(json, e.ToString(), cost);
        json.WriteEndObject();
        json.WriteStartObject("instructions");
        WriteEntry(json, "default", profile.DefaultInstruction);
        foreach (var (m, cost) in profile.Instructions) WriteEntry(json, m.ToString(), cost);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The profile as an indented JSON document.</summary>
    public static string ToJson(CostProfile profile)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            Write(json, profile);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteEntry(Utf8JsonWriter json, string name, CostEntry cost)
    {
        json.WriteStartObject(name);
        json.WriteNumber("cycles", cost.Cycles);
        json.WriteString("source", cost.Source);
        json.WriteEndObject();
    }
}
