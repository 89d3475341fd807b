using VirtBench.Machine;

namespace VirtBench.Reports.Pricing;

/// <summary>Modeled cycles split by <see cref="EventCategory"/>; the total is the sum of the categories.</summary>
public sealed class CycleBreakdown
{
    private static readonly EventCategory[] AllCategories = Enum.GetValues<EventCategory>();
    private readonly double[] _cycles;

    internal CycleBreakdown(double[] cycles) => _cycles = cycles;

    /// <summary>Every category, in chart order.</summary>
    public static IReadOnlyList<EventCategory> Categories => AllCategories;

    /// <summary>Cycles in one category.</summary>
    public double this[EventCategory category] => _cycles[(int)category];

    /// <summary>All cycles (the categories summed in order, so stacked charts add up exactly).</summary>
    public double Total
    {
        get
        {
            double sum = 0;
            foreach (double c in _cycles) sum += c;
            return sum;
        }
    }

    /// <summary>The same breakdown divided by an operation count.</summary>
    public CycleBreakdown PerOperation(ulong operations) =>
        new(_cycles.Select(c => c / operations).ToArray());

    /// <summary>The categories with their cycles, in chart order.</summary>
    public IEnumerable<(EventCategory Category, double Cycles)> Items => AllCategories.Select(c => (c, _cycles[(int)c]));
}
