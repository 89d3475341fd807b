using System.Reflection;

namespace VirtBench.Machine;

/// <summary>Facts about <see cref="Event"/> members: their number and chart category.</summary>
public static class EventInfo
{
    private static readonly EventCategory[] Categories = Enum.GetValues<Event>()
        .Select(e => typeof(Event).GetField(e.ToString())!.GetCustomAttribute<CategoryAttribute>()?.Category
                     ?? throw new InvalidOperationException($"Event {e} has no [Category]."))
        .ToArray();

    /// <summary>Number of events.</summary>
    public static int Count => Categories.Length;

    /// <summary>All events, in declaration order.</summary>
    public static IReadOnlyList<Event> All { get; } = Enum.GetValues<Event>();

    /// <summary>The chart category of an event.</summary>
    public static EventCategory CategoryOf(Event e) => Categories[(int)e];
}
