using System.CommandLine;
using VirtBench.Reports.Profiles;

namespace VirtBench.Cli.Commands;

/// <summary><c>virtbench list</c>: engines, workloads and cost profiles, one line each.</summary>
internal static class ListCommand
{
    public static Command Create(Toolbox toolbox, TextWriter output)
    {
        var command = new Command("list", "List engines, workloads and cost profiles");
        command.SetAction(_ =>
        {
            Section(output, "Engines (--engines)", toolbox.Engines.Select(e => (e.Name, $"[{e.Flavor.ToString().ToLowerInvariant()} kernel] {e.Description}")));
            Section(output, "Workloads (--workloads)", toolbox.Workloads.Select(w => (w.Name, $"[{w.DefaultIterations} iterations] {w.Description}")));
            Section(output, "Cost profiles (--profile NAME, or a .json file)", ProfileCatalog.Shipped.Select(p =>
                (p.Name + (p.Name == ProfileCatalog.DefaultName ? " (default)" : ""), p.Description)));
            return Program.Success;
        });
        return command;
    }

    private static void Section(TextWriter output, string title, IEnumerable<(string Name, string Description)> items)
    {
        var list = items.ToList();
        output.WriteLine(title + ":");
        if (list.Count == 0) output.WriteLine("  (none in this build)");
        int width = list.Count == 0 ? 0 : list.Max(i => i.Name.Length);
        foreach (var (name, description) in list) output.WriteLine($"  {name.PadRight(width)}  {description}");
        output.WriteLine();
    }
}
