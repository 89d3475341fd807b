namespace VirtBench.Engines;

/// <summary>Every engine, by command-line name, in the order reports show them.</summary>
public static class EngineCatalog
{
    /// <summary>All engines that exist.</summary>
    public static IReadOnlyList<IEngine> All { get; } =
    [
        new Native.NativeEngine(),
        new Emulation.EmulationEngine(),
        new TrapAndEmulate.TrapAndEmulateEngine(Machine.Monitor.SensitiveMode.Observe),
        new TrapAndEmulate.TrapAndEmulateEngine(Machine.Monitor.SensitiveMode.Trap),
        new BinaryTranslation.BinaryTranslationEngine(),
        new Paravirt.ParavirtEngine(),
        new HardwareAssisted.ShadowPagingEngine(),
        new HardwareAssisted.NestedPagingEngine(),
    ];

    /// <summary>The engine with this name; throws <see cref="ArgumentException"/> listing the valid names otherwise.</summary>
    public static IEngine Get(string name) =>
        All.FirstOrDefault(e => e.Name == name)
        ?? throw new ArgumentException($"unknown engine '{name}': expected one of {string.Join(", ", All.Select(e => e.Name))}");
}
