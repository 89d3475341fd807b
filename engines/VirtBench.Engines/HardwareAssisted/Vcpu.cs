using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// One virtual CPU as the VT-x VMM sees it while handling an exit: the machine's CPU in VMX non-root mode, its
/// VMCS (every field access counted), the VMM's cache of VMCS fields, the events waiting for injection, and the
/// emulated devices. Exit handlers and the memory-virtualization strategy work through it.
/// </summary>
internal sealed class Vcpu
{
    /// <summary>A virtual CPU for the guest of <paramref name="pc"/>.</summary>
    public Vcpu(Pc pc)
    {
        Pc = pc;
        Vmcs = new Vmcs(pc.Cpu);
        Cache = new VmcsCache(Vmcs);
        Events = new EventInjection(pc.Cpu, Vmcs, Cache);
        Devices = new VirtualDevices(pc);
    }

    /// <summary>The machine.</summary>
    public Pc Pc { get; }

    /// <summary>The CPU (general-purpose registers are read and written here directly: they are not in the VMCS).</summary>
    public Cpu Cpu => Pc.Cpu;

    /// <summary>The run's counters.</summary>
    public Counters Counters => Pc.Counters;

    /// <summary>The VMCS.</summary>
    public Vmcs Vmcs { get; }

    /// <summary>Cached VMCS fields of the current exit.</summary>
    public VmcsCache Cache { get; }

    /// <summary>Events for the next VM entries.</summary>
    public EventInjection Events { get; }

    /// <summary>The emulated PC devices behind every port.</summary>
    public VirtualDevices Devices { get; }

    /// <summary>
    /// Completes an instruction this VMM emulated itself (KVM's skip_emulated_instruction): EIP moves past it, the
    /// sti or mov-SS blocking it was under ends with it, and simulated time advances by the one instruction it
    /// stands for — as the shared <see cref="Vmm.InstructionEmulator"/> does — so the guest keeps native's timeline.
    /// </summary>
    public void SkipInstruction()
    {
        CompleteAt(Cache.Rip + Vmcs.Read(VmcsField.ExitInstructionLength));
        Cpu.Ticks++;
    }

    /// <summary>
    /// Completes an instruction the VMM emulated, the guest continuing at <paramref name="nextEip"/>; the sti or
    /// mov-SS blocking it was under ends with it.
    /// </summary>
    public void CompleteAt(uint nextEip)
    {
        Cache.Rip = nextEip;
        if (Vmcs.Read(VmcsField.GuestInterruptibility) != (uint)GuestInterruptibility.None)
            Vmcs.Write(VmcsField.GuestInterruptibility, (uint)GuestInterruptibility.None);
    }

    /// <summary>Records an instruction the VMM emulated instead of letting it retire (DESIGN's counting convention).</summary>
    public void Emulated(Iced.Intel.Mnemonic mnemonic) => Counters.AddEmulation(mnemonic);

    /// <summary>Stops the run with a message (a guest request this VMM cannot serve).</summary>
    public void Stop(string message) => Cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, message));
}
