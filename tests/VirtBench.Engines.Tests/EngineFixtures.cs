using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Workloads;

namespace VirtBench.Engines.Tests;

/// <summary>Runs workloads on engines for the engine tests.</summary>
internal static class EngineFixtures
{
    /// <summary>Options with a budget large enough for every workload at small sizes.</summary>
    public static RunOptions Options { get; } = new() { Machine = new MachineOptions { InstructionBudget = 400_000_000 } };

    /// <summary>Runs a workload at an iteration count on an engine, building the image for its flavor.</summary>
    public static EngineRun Run(string engine, string workload, uint iterations, bool adaptiveTranslation = true)
    {
        var e = EngineCatalog.Get(engine);
        return e.Run(ImageBuilder.Build(workload, e.Flavor, iterations), Options with { AdaptiveTranslation = adaptiveTranslation });
    }

    /// <summary>Runs an image (a small test-kernel guest) on an engine.</summary>
    public static EngineRun Run(string engine, GuestImage image) => EngineCatalog.Get(engine).Run(image, Options);

    /// <summary>VM exits of every reason.</summary>
    public static ulong Exits(Counters c) =>
        EventInfo.All.Where(e => EventInfo.CategoryOf(e) == EventCategory.VmExits).Aggregate(0ul, (sum, e) => sum + c[e]);

    /// <summary>Every workload with a small iteration count.</summary>
    public static TheoryData<string> Workloads()
    {
        var data = new TheoryData<string>();
        foreach (var w in WorkloadCatalog.All) data.Add(w.Name);
        return data;
    }

    /// <summary>A small iteration count that still exercises the workload's paths.</summary>
    public static uint SmallIterations(string workload) => workload == "pgfault" ? 100u : 20u;

    /// <summary>
    /// The mnemonics whose native retired count differs from a VMM engine's retired + emulated count (empty when the
    /// VMM ran exactly native's instruction stream, each instruction it took over emulated once).
    /// </summary>
    public static List<string> StreamDifferences(Counters bare, Counters virtualized) =>
        Enum.GetValues<Iced.Intel.Mnemonic>().Distinct()
            .Where(m => bare.Instructions(m) != virtualized.Instructions(m) + virtualized.Emulations(m))
            .Select(m => $"{m}: native {bare.Instructions(m)}, retired {virtualized.Instructions(m)} + emulated {virtualized.Emulations(m)}")
            .ToList();
}
