using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The guest writes that shadow page tables do not let through (<see cref="ShadowFaultKind.TracedWrite"/>,
/// <see cref="ShadowFaultKind.WriteNeedsEmulation"/>), resolved as every shadow-paging VMM resolves them: the writing
/// instruction is decoded through the guest's tables and emulated, so the store lands through
/// <see cref="GuestAddressSpace"/> and the shadows follow it (a traced one counts a <see cref="Event.TracingFault"/>).
/// A traced page that user code or a rep string instruction writes is no longer a page table (the kernel freed it and
/// reuses it, e.g. zeroing it): it is unshadowed and the write restarts, as it is when the emulator cannot do the write.
/// </summary>
public sealed class ShadowWriteEmulation(Cpu cpu, ShadowPageTables shadows, GuestInstructionDecoder decoder, InstructionEmulator emulator)
{
    /// <summary>
    /// Resolves the write <paramref name="fault"/> describes, made by the instruction at guest EIP <paramref name="eip"/>
    /// (linear address <paramref name="linear"/>) at guest privilege level <paramref name="guestCpl"/>. Completed: the
    /// guest continues at <see cref="EmulationResult.NextEip"/> (the same instruction for the next element of a rep
    /// string); NotEmulated: the page was unshadowed, and the instruction runs again and writes it itself; Faulted:
    /// the guest's own exception, to reflect; Stopped: the run is stopped with the reason.
    /// </summary>
    public EmulationResult Resolve(in ShadowFault fault, uint linear, uint eip, int guestCpl)
    {
        bool decoded = decoder.TryDecode(linear, eip, guestCpl == 3, out var instruction);
        return Resolve(fault, decoded, instruction, linear, guestCpl);
    }

    /// <summary>
    /// Resolves the write <paramref name="fault"/> describes, made by <paramref name="instruction"/> (already decoded by
    /// the caller; <paramref name="decoded"/> false if it could not be read), found at guest address
    /// <paramref name="address"/> (for a stop message; formatted only then, since traced writes are frequent). Binary
    /// translation passes the translated copy of the guest instruction it is executing.
    /// </summary>
    public EmulationResult Resolve(in ShadowFault fault, bool decoded, in Instruction instruction, uint address, int guestCpl)
    {
        bool traced = fault.Kind == ShadowFaultKind.TracedWrite;
        var restart = new EmulationResult(EmulationStatus.NotEmulated);
        if (!decoded)
            return traced && shadows.Unshadow(fault.Physical)
                ? restart
                : Stop($"cannot decode the instruction at 0x{address:x8} that writes guest-physical 0x{fault.Physical:x8}");
        bool reuse = guestCpl == 3 || instruction.HasRepPrefix || instruction.HasRepePrefix || instruction.HasRepnePrefix;
        if (traced && reuse && shadows.Unshadow(fault.Physical)) return restart;
        var result = emulator.EmulateWrite(instruction, guestCpl);
        switch (result.Status)
        {
            case EmulationStatus.Completed:
                if (traced) cpu.Counters.Add(Event.TracingFault);
                return result;
            case EmulationStatus.Faulted:
                return result;
            default:
                return traced && shadows.Unshadow(fault.Physical)
                    ? restart
                    : Stop($"cannot emulate '{instruction}' at 0x{address:x8}, a write to guest-physical 0x{fault.Physical:x8} that the shadow page tables must not let through");
        }
    }

    private EmulationResult Stop(string message)
    {
        cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, message));
        return new EmulationResult(EmulationStatus.Stopped);
    }
}
