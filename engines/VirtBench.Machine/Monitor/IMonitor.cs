using VirtBench.Machine.Cpu;

namespace VirtBench.Machine.Monitor;

/// <summary>
/// An engine's VMM, called by the CPU at its slow-path seams only (DESIGN.md section 4): exception and
/// interrupt delivery, VMX exits and sensitive-instruction observation. Port I/O reaches a VMM through these
/// too: a deprivileged guest's in/out fault (#GP, IOPL) and a VMX guest's exit on its I/O bitmap.
/// The CPU's state during a call is the guest's, at the instruction concerned; the monitor may change it.
/// </summary>
public interface IMonitor
{
    /// <summary>
    /// An exception or software interrupt is about to be delivered. Return <see cref="Disposition.Handled"/>
    /// when the monitor dealt with it (the CPU resumes at the current EIP with the current state), or
    /// <see cref="Disposition.Deliver"/> to let the CPU deliver it through the IDT as hardware does.
    /// Not called in VMX non-root mode (exceptions exit by the exception bitmap instead).
    /// </summary>
    Disposition OnException(Cpu.Cpu cpu, in GuestException exception);

    /// <summary>
    /// The interrupt controller asserts INTR, interrupts are enabled and
    /// <see cref="Cpu.Cpu.ExternalInterruptsToMonitor"/> is set. The monitor acknowledges the controller (or
    /// masks the line with <see cref="Cpu.Cpu.ExternalInterruptsMasked"/>) and delivers as it sees fit.
    /// </summary>
    void OnExternalInterrupt(Cpu.Cpu cpu);

    /// <summary>
    /// A VM exit in VMX non-root mode (<see cref="Cpu.Cpu.Vmx"/>). The instruction concerned has not executed;
    /// EIP points at it. The CPU has counted the exit; a VMM reads what it needs from the VMCS with
    /// <see cref="Vmcs.Read"/> (counted, as VMREAD is on hardware) and writes guest state and the event to inject
    /// with <see cref="Vmcs.Write"/>; <paramref name="exit"/> is the same information, uncounted, for diagnostics.
    /// Returning is the VM entry (counted, with the entry checks and the injection).
    /// </summary>
    void OnVmExit(Cpu.Cpu cpu, in VmExit exit);

    /// <summary>
    /// A sensitive but unprivileged instruction is about to execute at CPL &gt; 0 and
    /// <see cref="Cpu.Cpu.SensitiveInstructions"/> is <see cref="SensitiveMode.Observe"/>. It then executes as
    /// real x86 does; the monitor only records it (a virtualization hole).
    /// </summary>
    void OnSensitiveInstruction(Cpu.Cpu cpu, in SensitiveInstruction instruction);
}

/// <summary>What the CPU does after <see cref="IMonitor.OnException"/>.</summary>
public enum Disposition
{
    /// <summary>Deliver through the IDT, as bare hardware would.</summary>
    Deliver,
    /// <summary>The monitor handled it; resume with the state it left.</summary>
    Handled,
}

/// <summary>How an exception or interrupt arose.</summary>
public enum ExceptionKind
{
    /// <summary>A fault: EIP is the faulting instruction, which restarts after delivery.</summary>
    Fault,
    /// <summary>A trap (#DB after an instruction, #OF from into, #BP from int3): EIP is past the instruction.</summary>
    Trap,
    /// <summary>A software interrupt (int n): <see cref="GuestException.NextEip"/> is the return address.</summary>
    SoftwareInterrupt,
    /// <summary>An external interrupt from the interrupt controller.</summary>
    External,
}

/// <summary>An exception, software interrupt or external interrupt on its way to delivery.</summary>
/// <param name="Vector">Interrupt vector (0-255).</param>
/// <param name="Kind">How it arose.</param>
/// <param name="ErrorCode">The error code, when the vector has one.</param>
/// <param name="FaultAddress">For #PF: the linear address (the CPU has also written it to CR2).</param>
/// <param name="InstructionEip">The address of the instruction concerned (EIP as stored in the CPU).</param>
/// <param name="NextEip">The address after it (for software interrupts and traps).</param>
public readonly record struct GuestException(
    int Vector, ExceptionKind Kind, uint? ErrorCode, uint FaultAddress, uint InstructionEip, uint NextEip);

/// <summary>What sensitive, unprivileged instructions do at CPL &gt; 0.</summary>
public enum SensitiveMode
{
    /// <summary>As on real x86: they execute with their ring-level semantics, silently.</summary>
    Execute,
    /// <summary>As on real x86, but the monitor is told first (to record virtualization holes).</summary>
    Observe,
    /// <summary>
    /// Popek and Goldberg's condition: they raise #GP(0), so a trap-and-emulate VMM can emulate them.
    /// A hypothetical x86.
    /// </summary>
    Trap,
}

/// <summary>A sensitive instruction about to execute at CPL &gt; 0 (see <see cref="SensitiveMode.Observe"/>).</summary>
/// <param name="Eip">Its address (EIP).</param>
/// <param name="Instruction">The instruction as Iced decoded it.</param>
public readonly record struct SensitiveInstruction(uint Eip, Iced.Intel.Instruction Instruction);
