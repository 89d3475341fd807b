using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.TrapAndEmulate;

/// <summary>
/// The classical VMM. The guest kernel runs at ring 1 with IOPL 0 on the VMM's GDT/IDT/TSS and shadow page tables,
/// from its first instruction (multiboot's paging-off state runs on a physical-mode shadow). Everything the guest
/// cannot be allowed to do reaches <see cref="OnException"/> or <see cref="OnExternalInterrupt"/>, a switch over
/// causes: a #GP from a privileged (or, on the Popek-Goldberg CPU, sensitive) instruction is decoded and emulated;
/// a #PF is a hidden fault, a write to a traced page, or the guest's own; system calls, other exceptions and
/// interrupts are reflected through the guest's IDT. On real x86 (<see cref="SensitiveMode.Observe"/>) sensitive
/// instructions run without trapping; the <see cref="HoleDetector"/> records what the guest saw instead.
/// </summary>
internal sealed class TrapAndEmulateMonitor : IMonitor, IEmulationHost
{
    private const uint RealCr0 = 0x8001_0011;                // PG, WP, ET, PE: the VMM's paging and write protection
    private const uint Cr0GuestBits = 0x2E, Cr4GuestBits = 4; // MP, EM, TS, NE; TSD: mirrored into the real registers
    private const uint Cr0Pg = 0x8000_0000, Cr0Wp = 0x1_0000, Cr4Pse = 0x10;

    private readonly Cpu _cpu;
    private readonly Counters _counters;
    private readonly VirtualCpu _v;
    private readonly ShadowPageTables _shadows;
    private readonly MonitorDescriptorTables _tables;
    private readonly GuestInstructionDecoder _decoder;
    private readonly InstructionEmulator _emulator;
    private readonly ShadowWriteEmulation _writes;
    private readonly ExceptionReflection _reflection;
    private readonly VirtualInterrupts _interrupts;
    private readonly bool _sensitiveTraps;
    private readonly List<uint> _gdtPages = [];
    private int _lastGuestCpl;
    private ulong _stuckTicks;
    private uint _stuckEip;
    private int _stuckEntries;

    /// <summary>VMM entries at one guest instruction and time after which the run stops (a loop that makes no progress).</summary>
    private const int StuckLimit = 1000;

    /// <summary>Takes over the machine as the multiboot loader left it; <paramref name="mode"/> picks real x86 or the Popek-Goldberg CPU.</summary>
    public TrapAndEmulateMonitor(Pc pc, SensitiveMode mode)
    {
        _cpu = pc.Cpu;
        _counters = pc.Counters;
        _v = new VirtualCpu(new GuestAddressSpace(pc.Memory));
        var vmm = new VmmMemory(pc.Memory);
        _shadows = new ShadowPageTables(_cpu, _v.Memory, vmm);
        _tables = new MonitorDescriptorTables(vmm, _shadows);
        _decoder = new GuestInstructionDecoder(_v.Memory);
        _emulator = new InstructionEmulator(_cpu, _v, new VirtualDevices(pc), this);
        _writes = new ShadowWriteEmulation(_cpu, _shadows, _decoder, _emulator);
        _reflection = new ExceptionReflection(_cpu, _v);
        _interrupts = new VirtualInterrupts(pc, _v, _reflection);
        _sensitiveTraps = mode == SensitiveMode.Trap;
        if (mode == SensitiveMode.Observe)
            Detector = new HoleDetector(_cpu, _v, _emulator, _interrupts, new HoleRecorder(pc.Image.Symbols, _counters));
        Boot(mode);
    }

    /// <summary>The virtualization-hole detector on real x86, else null.</summary>
    public HoleDetector? Detector { get; }

    private int GuestCpl => GuestRings.GuestRing(_cpu.Cpl);

    private void Boot(SensitiveMode mode)
    {
        _v.CaptureFrom(_cpu);
        _tables.InstallBootDescriptors();
        _tables.LoadInto(_cpu);
        _shadows.OtherTracedPageWritten = (_, _) => _tables.Mirror(_v);
        _shadows.Activate();
        _cpu.SetCr4(0);
        _cpu.SetCr0(RealCr0);
        // Multiboot's flat selectors, on the VMM's deprivileged copies of them.
        _cpu.LoadSegmentUnchecked(SegReg.Cs, GuestRings.RealSelector(_cpu.Segment(SegReg.Cs).Selector));
        _cpu.LoadSegmentUnchecked(SegReg.Ss, GuestRings.RealSelector(_cpu.Segment(SegReg.Ss).Selector));
        foreach (var r in (ReadOnlySpan<SegReg>)[SegReg.Ds, SegReg.Es, SegReg.Fs, SegReg.Gs])
            _cpu.LoadSegmentUnchecked(r, _cpu.Segment(r).Selector);
        _cpu.Eflags = (_cpu.Eflags | (uint)FlagBits.IF) & ~(uint)FlagBits.IOPL;
        _cpu.MonitorOwnsPageTableRoot = true;
        _cpu.ExternalInterruptsToMonitor = true;
        _cpu.SensitiveInstructions = mode;
        _cpu.Monitor = this;
        _lastGuestCpl = GuestCpl;
    }

    // ---- The VMM's entry points ----

    /// <inheritdoc />
    public Disposition OnException(Cpu cpu, in GuestException e)
    {
        try
        {
            Dispatch(e);
        }
        catch (Exception error) when (error is InvalidOperationException or ArgumentException)
        {
            // A defect of this VMM, not of the guest: stop cleanly and say so rather than take the host down.
            cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"VMM error handling {Vectors.Name(e.Vector)} at EIP 0x{e.InstructionEip:x8}: {error.Message}"));
        }
        return Disposition.Handled;
    }

    private void Dispatch(in GuestException e)
    {
        int cpl = EnterVmm(e.Kind == ExceptionKind.Fault ? _cpu.Segment(SegReg.Cs).Base + e.InstructionEip : null);
        if (cpl == 3 && e.Kind == ExceptionKind.Fault && _interrupts.TryDeliverHeld(cpl))
        {
            // A held interrupt the guest accepts in user mode (it got there by an iret that did not trap): taken at
            // the boundary of the faulting instruction, which has not run and will fault again.
            LeaveVmm();
            return;
        }
        switch (e)
        {
            case { Kind: ExceptionKind.SoftwareInterrupt }:
                _counters.Add(Event.TrapSoftwareInterrupt);
                _reflection.Reflect(e.Vector, e.Kind, null, e.InstructionEip, e.NextEip, cpl);
                break;
            case { Vector: Vectors.PF, Kind: ExceptionKind.Fault }:
                _counters.Add(Event.TrapPageFault);
                PageFault(e.FaultAddress, e.ErrorCode ?? 0, e.InstructionEip, cpl);
                break;
            case { Vector: Vectors.GP, Kind: ExceptionKind.Fault }:
                GeneralProtection(e.ErrorCode ?? 0, e.InstructionEip, cpl);
                break;
            default:
                _counters.Add(Event.TrapException);
                _reflection.Reflect(e.Vector, e.Kind, e.ErrorCode, e.InstructionEip, e.Kind == ExceptionKind.Trap ? e.NextEip : e.InstructionEip, cpl);
                break;
        }
        LeaveVmm();
    }

    /// <inheritdoc />
    public void OnExternalInterrupt(Cpu cpu)
    {
        int cpl = EnterVmm(null);
        _interrupts.Arrived(cpl);
        LeaveVmm();
    }

    /// <inheritdoc />
    public void OnVmExit(Cpu cpu, in VmExit exit) =>
        cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"trap-and-emulate runs no VMX guest, yet a VM exit ({exit.Reason}) arrived"));

    /// <inheritdoc />
    public void OnSensitiveInstruction(Cpu cpu, in SensitiveInstruction instruction) => Detector?.Observe(instruction, GuestInterruptFlag);

    /// <summary>The guest's IF as the VMM will take it at its next entry (see <see cref="EnterVmm"/>).</summary>
    private bool GuestInterruptFlag => GuestCpl == 3 && _lastGuestCpl != 3 ? _cpu.InterruptsEnabled : _v.InterruptFlag;

    /// <summary>
    /// Entering the VMM (by a fault of the instruction at <paramref name="faultingInstruction"/>, or else): the guest's
    /// privilege level. A guest found in user mode that the VMM last left in its kernel got there by an iret that did
    /// not trap (real x86): its interrupt flag is what the real one is there.
    /// </summary>
    private int EnterVmm(uint? faultingInstruction)
    {
        Detector?.Entered(faultingInstruction);
        int cpl = GuestCpl;
        if (cpl == 3 && _lastGuestCpl != 3) _v.InterruptFlag = _cpu.InterruptsEnabled;
        return cpl;
    }

    private void LeaveVmm()
    {
        _lastGuestCpl = GuestCpl;
        _interrupts.Update();
        if (_cpu.Ticks != _stuckTicks || _cpu.Eip != _stuckEip) (_stuckTicks, _stuckEip, _stuckEntries) = (_cpu.Ticks, _cpu.Eip, 0);
        else if (++_stuckEntries == StuckLimit)
            _cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"the VMM made no progress: {StuckLimit} entries at EIP 0x{_cpu.Eip:x8} without the guest advancing"));
    }

    // ---- Causes ----

    /// <summary>A #GP: a privileged (or sensitive) instruction to emulate, an access to the hypervisor region, or the guest's own.</summary>
    private void GeneralProtection(uint errorCode, uint eip, int cpl)
    {
        uint linear = _cpu.Segment(SegReg.Cs).Base + eip;
        if (HypervisorRegion.Contains(linear))
        {
            Reflect(HypervisorRegion.GuestFaultFor(_v.Memory, linear, MemoryAccess.Execute, cpl == 3), eip, cpl);
            return;
        }
        if (!_decoder.TryDecode(linear, eip, cpl == 3, out var instruction))
        {
            Reflect(new GuestFault(Vectors.GP, errorCode), eip, cpl);
            return;
        }
        var result = _emulator.Emulate(instruction, cpl);
        switch (result.Status)
        {
            case EmulationStatus.Completed:
                _counters.Add(_sensitiveTraps && SensitiveInstructions.Contains(instruction) ? Event.TrapSensitiveInstruction : Event.TrapPrivilegedInstruction);
                _cpu.Eip = result.NextEip;
                break;
            case EmulationStatus.Stopped:
                _counters.Add(Event.TrapPrivilegedInstruction);
                break;
            case EmulationStatus.Faulted:
                Reflect(result.Fault, eip, cpl);
                break;
            default:
                Reflect(_emulator.TryHypervisorRegionFault(instruction, cpl, out var hole) ? hole : new GuestFault(Vectors.GP, errorCode), eip, cpl);
                break;
        }
    }

    /// <summary>A #PF on the shadow tables.</summary>
    private void PageFault(uint address, uint errorCode, uint eip, int cpl)
    {
        var fault = _shadows.HandlePageFault(address, errorCode);
        switch (fault.Kind)
        {
            case ShadowFaultKind.Hidden:
                break;
            case ShadowFaultKind.Guest:
                ReflectException(new GuestFault(Vectors.PF, fault.ErrorCode, address), eip, cpl);
                break;
            case ShadowFaultKind.HypervisorRegion:
                ReflectException(HypervisorRegion.GuestFaultFor(_v.Memory, address, (errorCode & 2) != 0 ? MemoryAccess.Write : MemoryAccess.Read, cpl == 3), eip, cpl);
                break;
            default:
                Write(fault, eip, cpl);
                break;
        }
    }

    /// <summary>A write the shadows do not let through: to a traced page, or one only the guest's CR0.WP = 0 allows.</summary>
    private void Write(ShadowFault fault, uint eip, int cpl)
    {
        var result = _writes.Resolve(fault, _cpu.Segment(SegReg.Cs).Base + eip, eip, cpl);
        if (result.Status == EmulationStatus.Completed) _cpu.Eip = result.NextEip;
        else if (result.Status == EmulationStatus.Faulted) ReflectException(result.Fault, eip, cpl);
    }

    /// <summary>Reflects a guest exception that came from a trap (counted as one), with CR2 for a page fault.</summary>
    private void Reflect(GuestFault fault, uint eip, int cpl)
    {
        _counters.Add(Event.TrapException);
        ReflectException(fault, eip, cpl);
    }

    private void ReflectException(GuestFault fault, uint eip, int cpl)
    {
        if (fault.Vector == Vectors.PF) _v.Cr2 = fault.Address;
        _reflection.Reflect(fault.Vector, ExceptionKind.Fault, fault.ErrorCode, eip, eip, cpl);
    }

    // ---- IEmulationHost: what emulated instructions change beyond the virtual CPU ----

    /// <inheritdoc />
    public void Cr3Loaded() => _shadows.LoadCr3();

    /// <inheritdoc />
    public void ControlRegisterWritten(int register, uint previous)
    {
        uint changed = previous ^ (register == 0 ? _v.Cr0 : _v.Cr4);
        bool tablesReadDifferently = register == 0 ? (changed & (Cr0Pg | Cr0Wp)) != 0 : (changed & Cr4Pse) != 0;
        if (register == 0) _cpu.SetCr0(RealCr0 | (_v.Cr0 & Cr0GuestBits));
        else _cpu.SetCr4(_v.Cr4 & Cr4GuestBits);
        if (!tablesReadDifferently) return;
        _shadows.Reset();
        TraceGdt();
    }

    /// <inheritdoc />
    public void PageInvalidated(uint linear) => _shadows.InvalidatePage(linear);

    /// <inheritdoc />
    public void GdtLoaded()
    {
        _tables.Mirror(_v);
        TraceGdt();
    }

    /// <inheritdoc />
    public void InterruptsEnabled() { }   // LeaveVmm lets a held interrupt through

    /// <inheritdoc />
    public void Halted() => _cpu.Halted = true;

    /// <summary>Traces the pages of the guest's GDT, so that the real GDT follows the guest's writes to it.</summary>
    private void TraceGdt()
    {
        foreach (uint page in _gdtPages) _shadows.UntraceOther(page);
        _gdtPages.Clear();
        var gdtr = _v.Gdtr;
        if (gdtr.Limit == 0) return;
        for (uint page = gdtr.Base & ~0xFFFu; page <= gdtr.Base + gdtr.Limit; page += 4096)
        {
            var t = _v.Memory.Translate(page, MemoryAccess.Read, false, setAccessedDirty: false);
            if (!t.Ok) continue;
            _shadows.TraceOther(t.Physical);
            _gdtPages.Add(t.Physical);
        }
    }
}
