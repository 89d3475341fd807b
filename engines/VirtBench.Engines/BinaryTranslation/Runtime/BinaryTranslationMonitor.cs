using VirtBench.Engines.BinaryTranslation.Adaptation;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.BinaryTranslation.Decoding;
using VirtBench.Engines.BinaryTranslation.Translation;
using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.BinaryTranslation.Runtime;

/// <summary>
/// VMware's software VMM on the shared VMM core (<see cref="DeprivilegedVmm"/>: ring-1 guest kernel, shadow page
/// tables, virtual devices, reflection, virtual interrupts): the guest kernel runs only as translated code, from its
/// first instruction, and its user code directly at ring 3. Every way into the VMM is a switch: from translated code,
/// a callout (a <c>ud2</c> at a known address) or a fault of a translated instruction (<see cref="TranslatedFaults"/>);
/// from user code, the same handling as trap-and-emulate. External interrupts are taken at guest instruction
/// boundaries only: arriving inside a sequence, the CPU is stepped to the next boundary first.
/// </summary>
internal sealed class BinaryTranslationMonitor : IMonitor
{
    private readonly Cpu _cpu;
    private readonly Counters _counters;
    private readonly DeprivilegedVmm _vmm;
    private readonly VirtualCpu _v;
    private readonly TranslatorData _data;
    private readonly Dispatcher _dispatcher;
    private readonly Callouts _callouts;
    private readonly TranslatedFaults _faults;

    /// <summary>Takes over the machine as the multiboot loader left it and enters the kernel's translation.</summary>
    public BinaryTranslationMonitor(Pc pc, bool adaptiveTranslation, uint cacheBytes = TranslationCache.DefaultBytes)
    {
        _cpu = pc.Cpu;
        _counters = pc.Counters;
        _vmm = new DeprivilegedVmm(pc);
        _v = _vmm.Virtual;
        _data = new TranslatorData(_vmm);
        Cache = new TranslationCache(_vmm, _data, cacheBytes);
        var adaptation = new AdaptiveTranslation(adaptiveTranslation);
        var translator = new Translator(Cache.Routine.Address, adaptation.IsAdapted);
        _dispatcher = new Dispatcher(_vmm, Cache, _data, new UnitDecoder(_v.Memory), translator);
        _callouts = new Callouts(_vmm, Cache, _data, _dispatcher);
        _faults = new TranslatedFaults(_vmm, _data, _dispatcher, Cache, adaptation);
        Detector = new HoleDetector(_cpu, _v, _vmm.Emulator, _vmm.Interrupts, new HoleRecorder(pc.Image.Symbols, _counters));
        _vmm.OtherTracedPageWritten = Cache.GuestCodeWritten;
        _vmm.MappingsChanged = linear => Cache.MappingsChanged(_v.Memory, linear);
        _vmm.Boot(this, SensitiveMode.Observe);
        _dispatcher.ContinueAt(_cpu.Eip);
        LeaveVmm();
    }

    /// <summary>The translation cache (for inspection).</summary>
    public TranslationCache Cache { get; }

    /// <summary>
    /// The virtualization holes of user code, which runs directly at ring 3 as on VMware (sgdt, sidt, sldt, str, smsw,
    /// lar, lsl, verr, verw show the VMM's state there); translated kernel code has none.
    /// </summary>
    public HoleDetector Detector { get; }

    // ---- The VMM's entry points ----

    /// <inheritdoc />
    public Disposition OnException(Cpu cpu, in GuestException exception)
    {
        try
        {
            bool direct = !cpu.InTranslationCache && exception.Kind == ExceptionKind.Fault;
            Detector.Entered(direct ? cpu.Segment(SegReg.Cs).Base + exception.InstructionEip : null);
            EnterVmm();
            if (cpu.InTranslationCache) FromTranslatedCode(exception);
            else FromGuestCode(exception);
            LeaveVmm();
        }
        catch (Exception error) when (error is InvalidOperationException or ArgumentException)
        {
            // A defect of this VMM, not of the guest: stop cleanly and say so rather than take the host down.
            cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"VMM error handling {Vectors.Name(exception.Vector)} at EIP 0x{exception.InstructionEip:x8}: {error.Message}"));
        }
        return Disposition.Handled;
    }

    /// <inheritdoc />
    public void OnExternalInterrupt(Cpu cpu)
    {
        Detector.Entered(null);
        EnterVmm();
        if (!cpu.InTranslationCache)
        {
            if (_vmm.Interrupts.Arrived(_vmm.GuestCpl)) _dispatcher.ContinueAt(cpu.Eip);
        }
        else InterruptTranslatedCode();
        LeaveVmm();
    }

    /// <inheritdoc />
    public void OnVmExit(Cpu cpu, in VmExit exit) =>
        cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"binary translation runs no VMX guest, yet a VM exit ({exit.Reason}) arrived"));

    /// <inheritdoc />
    public void OnSensitiveInstruction(Cpu cpu, in SensitiveInstruction instruction) => Detector.Observe(instruction, _v.InterruptFlag);

    // ---- From translated code ----

    private void FromTranslatedCode(in GuestException e)
    {
        uint address = e.InstructionEip;
        var unit = Cache.UnitAt(address);
        var entry = unit?.EntryAt(address);
        if (unit is null || entry is not { } at)
        {
            _vmm.Stop($"{Vectors.Name(e.Vector)} at 0x{address:x8} in the translation cache, outside any translated instruction");
            return;
        }
        if (e is { Vector: Vectors.UD, Kind: ExceptionKind.Fault } && at.Site >= 0)
            _callouts.Handle(unit, unit.Sites[at.Site]);
        else
            _faults.Handle(e, unit, at);
    }

    /// <summary>
    /// An interrupt while translated code runs: taken at a guest instruction boundary with the guest's EIP there;
    /// inside a sequence (or in the instruction after an sti that set IF), one more translated instruction runs first.
    /// </summary>
    private void InterruptTranslatedCode()
    {
        uint address = _cpu.Eip;
        var entry = Cache.UnitAt(address)?.EntryAt(address);
        if (!_v.InterruptFlag)
        {
            _vmm.Interrupts.Arrived(0);   // held until the guest enables interrupts
            return;
        }
        bool heldBySti = entry is { AfterSti: true } && _data.Read(TranslatorData.InterruptFlagBeforeSti) == 0;
        if (entry is not { IsBoundary: true } at || heldBySti)
        {
            _cpu.SetInterruptShadow(GuestInterruptibility.BlockingBySti);   // step one translated instruction, then ask again
            return;
        }
        _cpu.Eip = at.GuestEip;
        if (_vmm.Interrupts.Arrived(0)) _dispatcher.ContinueAt(_cpu.Eip);
        else _cpu.Eip = address;
    }

    // ---- From guest code that runs directly (user mode) ----

    private void FromGuestCode(in GuestException e)
    {
        int cpl = _vmm.GuestCpl;
        var outcome = e switch
        {
            { Kind: ExceptionKind.SoftwareInterrupt } => Reflect(e, Event.TrapSoftwareInterrupt, cpl),
            { Vector: Vectors.PF, Kind: ExceptionKind.Fault } => _vmm.PageFault(e.FaultAddress, e.ErrorCode ?? 0, e.InstructionEip, cpl),
            { Vector: Vectors.GP, Kind: ExceptionKind.Fault } => _vmm.GeneralProtection(e.ErrorCode ?? 0, e.InstructionEip, cpl, sensitiveTraps: false),
            _ => Reflect(e, Event.TrapException, cpl),
        };
        switch (outcome.Kind)
        {
            case VmmOutcomeKind.Continue: _dispatcher.ContinueAt(outcome.NextEip); break;   // sysenter continues in the kernel
            case VmmOutcomeKind.Reflected: _dispatcher.ContinueAt(_cpu.Eip); break;
        }
    }

    private VmmOutcome Reflect(in GuestException e, Event trap, int cpl)
    {
        _counters.Add(trap);
        uint returnEip = e.Kind is ExceptionKind.Trap or ExceptionKind.SoftwareInterrupt ? e.NextEip : e.InstructionEip;
        _vmm.Reflection.Reflect(e.Vector, e.Kind, e.ErrorCode, e.InstructionEip, returnEip, cpl);
        return VmmOutcome.Reflected;
    }

    // ---- Entering and leaving ----

    /// <summary>The guest's IF and IOPL as translated code left them in the VMM's data.</summary>
    private void EnterVmm()
    {
        _v.InterruptFlag = _data.Read(TranslatorData.InterruptFlag) != 0;
        _v.Iopl = (int)(_data.Read(TranslatorData.Iopl) >> 12) & 3;
    }

    /// <summary>The guest's IF and IOPL back in the VMM's data, a held interrupt let through if the guest now accepts it, and whether one is still held.</summary>
    private void LeaveVmm()
    {
        _data.Write(TranslatorData.InterruptFlag, _v.InterruptFlag ? 0x200u : 0);
        _data.Write(TranslatorData.Iopl, (uint)_v.Iopl << 12);
        _vmm.Interrupts.Update();
        _data.Write(TranslatorData.PendingInterrupt, _vmm.Interrupts.Held ? 0x200u : 0);
        _vmm.CheckProgress();
    }
}
