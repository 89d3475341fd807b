using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace VirtBench.Benchmarks.Columns;

/// <summary>A numeric summary column whose cell is computed by a function of the case ("-" where it does not apply).</summary>
internal sealed class CaseColumn(string name, string legend, int priority, Func<Summary, BenchmarkCase, string?> cell) : IColumn
{
    public string Id => $"{nameof(CaseColumn)}.{name}";
    public string ColumnName => name;
    public string Legend => legend;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => priority;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => cell(summary, benchmarkCase) ?? "-";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <summary>Shown only in the tables of engine cases (not beside the speed loops).</summary>
    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(c => EngineCaseKey.Of(c) is not null);

    public override string ToString() => ColumnName;
}
