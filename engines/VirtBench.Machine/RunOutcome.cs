namespace VirtBench.Machine;

/// <summary>How a run ended.</summary>
public enum OutcomeKind
{
    /// <summary>The guest wrote to isa-debug-exit; <see cref="RunOutcome.ExitStatus"/> holds QEMU's status (value*2+1).</summary>
    DebugExit,
    /// <summary>The guest halted with interrupts disabled, or with no timer left to wake it.</summary>
    Halted,
    /// <summary>The instruction budget ran out.</summary>
    BudgetExhausted,
    /// <summary>A fault occurred while delivering a double fault: the CPU shut down.</summary>
    TripleFault,
    /// <summary>The engine stopped the run (e.g. its VMM refused a guest request it cannot serve).</summary>
    EngineStop,
}

/// <summary>The end of a run: its kind, a human-readable message and, for a debug exit, the status.</summary>
public sealed record RunOutcome(OutcomeKind Kind, string Message, int ExitStatus = 0)
{
    /// <summary>True for a debug exit with QEMU status 1 (the guest wrote 0: success).</summary>
    public bool IsSuccess => Kind == OutcomeKind.DebugExit && ExitStatus == 1;

    /// <inheritdoc />
    public override string ToString() => Kind == OutcomeKind.DebugExit ? $"{Kind}({ExitStatus}): {Message}" : $"{Kind}: {Message}";
}
