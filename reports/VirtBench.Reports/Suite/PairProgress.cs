using VirtBench.Reports.Results;

namespace VirtBench.Reports.Suite;

/// <summary>A progress report from a suite run: a pair started, or a pair finished with its status.</summary>
/// <param name="Engine">The pair's engine.</param>
/// <param name="Workload">The pair's workload.</param>
/// <param name="Done">Pairs finished so far (including this one when it is a finish).</param>
/// <param name="Total">Pairs in the run.</param>
/// <param name="Finished">The finished pair's result, or null when the pair has just started.</param>
public sealed record PairProgress(string Engine, string Workload, int Done, int Total, PairResult? Finished);
