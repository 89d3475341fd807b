using System.Text.Json.Nodes;
using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Reports.Profiles;

namespace VirtBench.Reports.Tests;

public sealed class ProfileTests : IDisposable
{
    private readonly ProfileFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ShippedProfilesIncludeTheRequiredGenerationsOldestFirst()
    {
        var names = ProfileCatalog.Shipped.Select(p => p.Name).ToList();
        Assert.Equal(["pentium4-2006", "core2-2008", "westmere-2010", "modern"], names);
    }

    [Fact]
    public void EveryShippedProfilePricesEveryEventWithASource()
    {
        // Loading refuses a profile that misses an event, so a new Event member without a price in every
        // shipped profile fails here, naming the event.
        foreach (var profile in ProfileCatalog.Shipped)
        {
            foreach (var (e, cost) in profile.Events)
            {
                Assert.True(cost.Cycles >= 0, $"{profile.Name}: {e}");
                Assert.False(string.IsNullOrWhiteSpace(cost.Source), $"{profile.Name}: {e} has no source");
            }
            Assert.Equal(EventInfo.Count, profile.Events.Count());
            Assert.False(string.IsNullOrWhiteSpace(profile.DefaultInstruction.Source));
        }
    }

    [Fact]
    public void ShippedFiguresComeFromCostInputs()
    {
        var p4 = ProfileCatalog.Load("pentium4-2006");
        Assert.Equal(2409, p4[Event.VmEntry].Cycles);
        Assert.Equal(1931, p4[Event.ExitPageFault].Cycles);
        Assert.Equal(178, p4[Event.VmcsRead].Cycles);
        Assert.Equal(171, p4[Event.VmcsWrite].Cycles);
        Assert.Equal(2300, p4[Event.BtInstructionTranslated].Cycles);
        Assert.Equal(60, p4.CyclesOf(Mnemonic.Cli));
        Assert.Equal(3200, p4.CyclesOf(Mnemonic.In));
        // The 2030-cycle trap-and-emulate rdtsc is split, not double counted: trap + emulation = round trip.
        Assert.Equal(2030, p4[Event.TrapPrivilegedInstruction].Cycles + p4[Event.InstructionEmulated].Cycles);
        // Likewise the 1254-cycle callout.
        Assert.Equal(1254, p4[Event.BtCalloutOther].Cycles + p4[Event.InstructionEmulated].Cycles);
        Assert.Equal(SourceKind.Cited, p4[Event.VmEntry].Kind);
        Assert.Equal(SourceKind.Derived, p4[Event.TrapPrivilegedInstruction].Kind);

        var modern = ProfileCatalog.Load("modern");
        Assert.Equal(327, modern[Event.ExitCpuid].Cycles);
        Assert.Equal(318, modern[Event.VmEntry].Cycles);
        Assert.Equal(1, modern.CyclesOf(Mnemonic.Add)); // the default
    }

    [Fact]
    public void GenerationProfilesInheritFromTheirBaseAndOverrideVtx()
    {
        var core2 = ProfileCatalog.Load("core2-2008");
        var p4 = ProfileCatalog.Load("pentium4-2006");
        Assert.Equal(638, core2[Event.ExitVmcall].Cycles);
        Assert.Equal(643, core2[Event.VmEntry].Cycles);
        Assert.Equal(p4[Event.TrapPrivilegedInstruction], core2[Event.TrapPrivilegedInstruction]);
        Assert.Equal(p4.CyclesOf(Mnemonic.Cli), core2.CyclesOf(Mnemonic.Cli));
    }

    [Fact]
    public void AUserFileCanBeBasedOnAShippedProfile()
    {
        string path = _files.Write("slow-exits.json", """
            { "name": "slow-exits", "basedOn": "modern",
              "events": { "ExitIo": { "cycles": 5000, "source": "assumed: what if I/O exits were slow" } },
              "instructions": { "Imul": { "cycles": 4.5, "source": "assumed: fractional costs are allowed" } } }
            """);
        var profile = ProfileCatalog.Load(path);
        Assert.Equal("slow-exits", profile.Name);
        Assert.Equal(5000, profile[Event.ExitIo].Cycles);
        Assert.Equal(4.5, profile.CyclesOf(Mnemonic.Imul));
        Assert.Equal(ProfileCatalog.Load("modern")[Event.ExitCpuid], profile[Event.ExitCpuid]);
    }

    [Fact]
    public void AProfileWrittenOutReadsBackEqual()
    {
        foreach (var shipped in ProfileCatalog.Shipped)
        {
            var again = ProfileCatalog.Parse(ProfileWriter.ToJson(shipped), "copy", "copy");
            Assert.Equal(shipped.Events, again.Events);
            Assert.Equal(shipped.Instructions, again.Instructions);
            Assert.Equal(shipped.DefaultInstruction, again.DefaultInstruction);
        }
    }

    public static TheoryData<string, Action<JsonObject>, string> BadProfiles => new()
    {
        { "unknown-event.json", p => p["events"]!["TlbMis"] = Entry(3), "events.TlbMis: unknown event (did you mean 'TlbMiss'?)" },
        { "missing-event.json", p => p["events"]!.AsObject().Remove("VmcsWrite"), "events.VmcsWrite: missing: every event must be priced (1 missing: VmcsWrite)" },
        { "negative.json", p => p["events"]!["TlbMiss"]!["cycles"] = -3, "events.TlbMiss.cycles: must be a number of cycles >= 0, got -3" },
        { "text.json", p => p["events"]!["ExitIo"]!["cycles"] = "lots", "events.ExitIo.cycles: must be a number of cycles >= 0, got the string \"lots\"" },
        { "no-cycles.json", p => p["events"]!["ExitIo"]!.AsObject().Remove("cycles"), "events.ExitIo.cycles: is required (modeled cycles per occurrence, >= 0)" },
        { "no-source.json", p => p["events"]!["ExitIo"]!["source"] = " ", "events.ExitIo.source: is required" },
        { "mnemonic.json", p => p["instructions"]!["Mull"] = Entry(3), "instructions.Mull: unknown mnemonic" },
        { "no-default.json", p => p["instructions"]!.AsObject().Remove("default"), "instructions.default: is required" },
        { "property.json", p => p["evnts"] = new JsonObject(), "evnts: unknown property (expected name, description, year, basedOn, events, instructions)" },
        { "entry-property.json", p => p["events"]!["ExitIo"]!["cycle"] = 3, "events.ExitIo.cycle: unknown property (expected cycles, source)" },
        { "base.json", p => p["basedOn"] = "pentium5", "basedOn: unknown profile 'pentium5': expected one of core2-2008, modern, pentium4-2006, westmere-2010, or a profile file relative to this one" },
    };

    [Theory]
    [MemberData(nameof(BadProfiles))]
    public void ABadProfileIsRefusedWithOneLineNamingFileEntryAndProblem(string name, Action<JsonObject> edit, string expected)
    {
        string path = _files.WriteModern(name, edit);
        var error = Assert.Throws<ProfileException>(() => ProfileCatalog.Load(path));
        Assert.StartsWith(path + ": ", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("{ \"name\": \"x\", \"events\": { ", "line 1: bad JSON")]
    [InlineData("[1, 2]", "a profile must be a JSON object, got an array")]
    [InlineData("{ \"events\": {} }", "name: is required")]
    public void MalformedDocumentsAreRefused(string text, string expected)
    {
        string path = _files.Write("broken.json", text);
        var error = Assert.Throws<ProfileException>(() => ProfileCatalog.Load(path));
        Assert.Equal($"{path}: {expected}", error.Message[..(path.Length + 2 + expected.Length)]);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void UnknownNamesAndMissingFilesAreRefused()
    {
        var unknown = Assert.Throws<ProfileException>(() => ProfileCatalog.Load("pentium5"));
        Assert.Equal("unknown profile 'pentium5': expected one of pentium4-2006, core2-2008, westmere-2010, modern, or the path of a profile .json file", unknown.Message);
        var missing = Assert.Throws<ProfileException>(() => ProfileCatalog.Load("/nonexistent/p.json"));
        Assert.Equal("/nonexistent/p.json: file not found", missing.Message);
    }

    [Fact]
    public void CircularBasesAreRefused()
    {
        string a = _files.Write("a.json", """{ "name": "a", "basedOn": "b.json" }""");
        _files.Write("b.json", """{ "name": "b", "basedOn": "a.json" }""");
        var error = Assert.Throws<ProfileException>(() => ProfileCatalog.Load(a));
        Assert.Contains("basedOn: chain is longer than 8 (circular?)", error.Message);
    }

    private static JsonObject Entry(double cycles) => new() { ["cycles"] = cycles, ["source"] = "test" };
}
