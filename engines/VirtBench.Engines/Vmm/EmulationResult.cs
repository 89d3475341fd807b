namespace VirtBench.Engines.Vmm;

/// <summary>How an emulation ended.</summary>
public enum EmulationStatus
{
    /// <summary>The instruction took effect on the virtual CPU; the guest continues at <see cref="EmulationResult.NextEip"/>.</summary>
    Completed,
    /// <summary>The guest's own CPU would have raised <see cref="EmulationResult.Fault"/>: reflect it (the instruction did nothing).</summary>
    Faulted,
    /// <summary>Not an instruction this emulator handles: the original exception is the guest's.</summary>
    NotEmulated,
    /// <summary>The emulation stopped the run (e.g. hlt with the guest's interrupts disabled, as the bare CPU would).</summary>
    Stopped,
}

/// <summary>An exception to deliver to the guest.</summary>
/// <param name="Vector">Vector.</param>
/// <param name="ErrorCode">Error code, for vectors that have one.</param>
/// <param name="Address">For #PF: the faulting linear address (the guest's CR2).</param>
public readonly record struct GuestFault(int Vector, uint? ErrorCode, uint Address = 0);

/// <summary>The outcome of emulating one guest instruction.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="NextEip">For <see cref="EmulationStatus.Completed"/>: the guest EIP to continue at (CS may have changed).</param>
/// <param name="Fault">For <see cref="EmulationStatus.Faulted"/>: the exception.</param>
public readonly record struct EmulationResult(EmulationStatus Status, uint NextEip = 0, GuestFault Fault = default);
