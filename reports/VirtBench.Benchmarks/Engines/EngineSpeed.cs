using BenchmarkDotNet.Attributes;
using VirtBench.Engines;
using VirtBench.Machine;
using VirtBench.Workloads;

namespace VirtBench.Benchmarks.Engines;

/// <summary>
/// Host time of one whole run of an engine on a workload's image, for every engine in <see cref="EngineCatalog"/>
/// and every workload (<c>virtbench bench</c> selects <see cref="EngineCases.DefaultWorkloads"/> unless told
/// otherwise), at N and 2N iterations. The custom columns turn the two means into host time per operation and
/// guest instructions per host second with boot excluded, and add the modeled figures of the same runs.
/// </summary>
[MemoryDiagnoser]
public class EngineSpeed
{
    private IEngine _engine = null!;
    private GuestImage _image = null!;

    /// <summary>Every engine's name.</summary>
    public static IEnumerable<string> AllEngines => EngineCatalog.All.Select(e => e.Name);

    /// <summary>Every workload's name.</summary>
    public static IEnumerable<string> AllWorkloads => WorkloadCatalog.All.Select(w => w.Name);

    /// <summary>Every scale.</summary>
    public static IEnumerable<int> AllScales => EngineCases.Scales;

    /// <summary>The engine.</summary>
    [ParamsSource(nameof(AllEngines))]
    public string Engine { get; set; } = "";

    /// <summary>The workload.</summary>
    [ParamsSource(nameof(AllWorkloads))]
    public string Workload { get; set; } = "";

    /// <summary>Iterations as a multiple of the workload's default.</summary>
    [ParamsSource(nameof(AllScales))]
    public int Scale { get; set; }

    /// <summary>Builds the image once per case.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _engine = EngineCatalog.Get(Engine);
        _image = EngineCases.Image(_engine, Workload, Scale);
    }

    /// <summary>Boots the image and runs it to the guest's exit.</summary>
    [Benchmark]
    public ulong Run() => EngineCases.Run(_engine, _image).Total.TotalInstructions;
}
