namespace VirtBench.Reports.Results;

/// <summary>How one engine-workload pair ended, as results.json records it (lower-case names).</summary>
public enum RunStatus
{
    /// <summary>The guest exited successfully and its UART output equals the native engine's.</summary>
    Ok,
    /// <summary>The guest exited, but its UART output differs from the native engine's for that workload.</summary>
    Diverged,
    /// <summary>The instruction budget ran out (a hung or runaway guest).</summary>
    Budget,
    /// <summary>Anything else: a failing exit status, a halt, a triple fault, an engine stop or error, no measured region.</summary>
    Fault,
}
