using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace VirtBench.Cli;

/// <summary>Option factories whose parse errors say what is wrong and what is accepted, in one line.</summary>
internal static class Options
{
    /// <summary>A whole-number option within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<T> Whole<T>(string name, string description, T min, T max, Func<T>? defaultValue = null)
        where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        var option = new Option<T>(name)
        {
            Description = description,
            CustomParser = result => Parse<T>(result, name, $"a whole number from {min} to {max}",
                text => T.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max ? v : null),
        };
        if (defaultValue is not null) option.DefaultValueFactory = _ => defaultValue();
        return option;
    }

    /// <summary>A number option strictly above <paramref name="above"/> and at most <paramref name="max"/>.</summary>
    public static Option<double> Positive(string name, string description, double above, double max, double defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => Parse<double>(result, name, $"a number above {above} and at most {max}",
            text => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v > above && v <= max ? v : null),
    };

    private static T Parse<T>(ArgumentResult result, string name, string accepted, Func<string, T?> parse) where T : struct
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (parse(text) is { } value) return value;
        result.AddError($"{name} '{text}' is invalid: expected {accepted}");
        return default;
    }
}
