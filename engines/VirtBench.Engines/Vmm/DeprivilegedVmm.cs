using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The core of a software VMM that runs the unmodified guest kernel deprivileged at ring 1 on shadow page tables
/// (trap-and-emulate, binary translation): the shared parts wired together, the takeover of the machine at boot, what
/// emulated instructions change beyond the virtual CPU (<see cref="IEmulationHost"/>), the handling of a #GP or #PF
/// of guest code that runs directly, the emulation of writes the shadows block, reflection of guest faults, and a
/// guard against a guest that makes no progress. Engines put their own way of running kernel code around it.
/// </summary>
public sealed class DeprivilegedVmm : IEmulationHost
{
    private const uint RealCr0 = 0x8001_0011;                // PG, WP, ET, PE: the VMM's paging and write protection
    private const uint Cr0GuestBits = 0x2E, Cr4GuestBits = 4; // MP, EM, TS, NE; TSD: mirrored into the real registers
    private const uint Cr0Pg = 0x8000_0000, Cr0Wp = 0x1_0000, Cr4Pse = 0x10;

    /// <summary>VMM entries at one guest instruction and time after which the run stops (a loop that makes no progress).</summary>
    public const int StuckLimit = 1000;

    private readonly List<uint> _gdtPages = [];
    private ulong _stuckTicks;
    private uint _stuckEip;
    private int _stuckEntries;

    /// <summary>The parts of a VMM for the guest on <paramref name="pc"/> (its VMM region must be large enough for them).</summary>
    public DeprivilegedVmm(Pc pc)
    {
        Pc = pc;
        Cpu = pc.Cpu;
        Counters = pc.Counters;
        Virtual = new VirtualCpu(new GuestAddressSpace(pc.Memory));
        Memory = new VmmMemory(pc.Memory);
        Shadows = new ShadowPageTables(Cpu, Virtual.Memory, Memory);
        Tables = new MonitorDescriptorTables(Memory, Shadows);
        Decoder = new GuestInstructionDecoder(Virtual.Memory);
        Emulator = new InstructionEmulator(Cpu, Virtual, new VirtualDevices(pc), this);
        Writes = new ShadowWriteEmulation(Cpu, Shadows, Decoder, Emulator);
        Reflection = new ExceptionReflection(Cpu, Virtual);
        Interrupts = new VirtualInterrupts(pc, Virtual, Reflection);
    }

    /// <summary>The machine.</summary>
    public Pc Pc { get; }

    /// <summary>The processor.</summary>
    public Cpu Cpu { get; }

    /// <summary>The run's counters.</summary>
    public Counters Counters { get; }

    /// <summary>The guest's virtual CPU (and, through it, its address space).</summary>
    public VirtualCpu Virtual { get; }

    /// <summary>The VMM's region of machine memory.</summary>
    public VmmMemory Memory { get; }

    /// <summary>The shadow page tables.</summary>
    public ShadowPageTables Shadows { get; }

    /// <summary>The real GDT, IDT and TSS.</summary>
    public MonitorDescriptorTables Tables { get; }

    /// <summary>Decodes guest instructions at guest linear addresses.</summary>
    public GuestInstructionDecoder Decoder { get; }

    /// <summary>Emulates privileged and sensitive instructions.</summary>
    public InstructionEmulator Emulator { get; }

    /// <summary>Resolves the writes the shadows do not let through.</summary>
    public ShadowWriteEmulation Writes { get; }

    /// <summary>Delivers exceptions and interrupts through the guest's IDT.</summary>
    public ExceptionReflection Reflection { get; }

    /// <summary>The guest's external interrupts, held while its virtual IF is clear.</summary>
    public VirtualInterrupts Interrupts { get; }

    /// <summary>The guest's privilege level for the real CPL (guest code that runs directly).</summary>
    public int GuestCpl => GuestRings.GuestRing(Cpu.Cpl);

    /// <summary>
    /// Called when the guest's mappings may have changed as its TLB would see it (the shadows already follow): with a
    /// linear address after invlpg, with null after a CR3 load or a paging-control change (the whole address space).
    /// </summary>
    public Action<uint?>? MappingsChanged { get; set; }

    /// <summary>
    /// Called after a write into a page traced with <see cref="ShadowPageTables.TraceOther"/> that does not hold the
    /// guest's GDT (guest-physical address, length): e.g. a page of translated code.
    /// </summary>
    public Action<uint, int>? OtherTracedPageWritten { get; set; }

    /// <summary>
    /// Takes over the machine as the multiboot loader left it: the guest's state becomes the virtual CPU's, the real
    /// GDT/IDT/TSS and the physical-mode shadow are loaded, the guest's flat selectors become their ring-1 copies, the
    /// real IF is set and IOPL cleared, and <paramref name="monitor"/> gets every exception and interrupt.
    /// </summary>
    public void Boot(IMonitor monitor, SensitiveMode mode)
    {
        Virtual.CaptureFrom(Cpu);
        Tables.InstallBootDescriptors();
        Tables.LoadInto(Cpu);
        Shadows.OtherTracedPageWritten = TracedPageWritten;
        Shadows.Activate();
        Cpu.SetCr4(0);
        Cpu.SetCr0(RealCr0);
        // Multiboot's flat selectors, on the VMM's deprivileged copies of them.
        Cpu.LoadSegmentUnchecked(SegReg.Cs, GuestRings.RealSelector(Cpu.Segment(SegReg.Cs).Selector));
        Cpu.LoadSegmentUnchecked(SegReg.Ss, GuestRings.RealSelector(Cpu.Segment(SegReg.Ss).Selector));
        foreach (var r in (ReadOnlySpan<SegReg>)[SegReg.Ds, SegReg.Es, SegReg.Fs, SegReg.Gs])
            Cpu.LoadSegmentUnchecked(r, Cpu.Segment(r).Selector);
        Cpu.Eflags = (Cpu.Eflags | (uint)FlagBits.IF) & ~(uint)FlagBits.IOPL;
        Cpu.MonitorOwnsPageTableRoot = true;
        Cpu.ExternalInterruptsToMonitor = true;
        Cpu.SensitiveInstructions = mode;
        Cpu.Monitor = monitor;
    }

    // ---- Guest code that runs directly ----

    /// <summary>
    /// A #GP of guest code running directly at guest privilege level <paramref name="cpl"/>: a privileged (or, on the
    /// Popek-Goldberg CPU, sensitive) instruction emulated (counted as a trap), an access to the hypervisor region, or
    /// the guest's own #GP (reflected, counted as a trap).
    /// </summary>
    public VmmOutcome GeneralProtection(uint errorCode, uint eip, int cpl, bool sensitiveTraps)
    {
        uint linear = Cpu.Segment(SegReg.Cs).Base + eip;
        if (HypervisorRegion.Contains(linear))
            return Reflect(HypervisorRegion.GuestFaultFor(Virtual.Memory, linear, MemoryAccess.Execute, cpl == 3), eip, cpl);
        if (!Decoder.TryDecode(linear, eip, cpl == 3, out var instruction))
            return Reflect(new GuestFault(Vectors.GP, errorCode), eip, cpl);
        var outcome = Emulate(instruction, eip, cpl, errorCode);
        switch (outcome.Kind)
        {
            case VmmOutcomeKind.Continue:
                Counters.Add(sensitiveTraps && SensitiveInstructions.Contains(instruction) ? Event.TrapSensitiveInstruction : Event.TrapPrivilegedInstruction);
                break;
            case VmmOutcomeKind.Stopped:
                Counters.Add(Event.TrapPrivilegedInstruction);
                break;
            default:
                Counters.Add(Event.TrapException);
                break;
        }
        return outcome;
    }

    /// <summary>
    /// A #PF of guest code running directly (counted as a trap): a hidden fault filled, the guest's own fault
    /// reflected, or a blocked write emulated (<see cref="EmulateBlockedWrite"/>, the instruction decoded at CS:EIP).
    /// </summary>
    public VmmOutcome PageFault(uint address, uint errorCode, uint eip, int cpl)
    {
        Counters.Add(Event.TrapPageFault);
        var fault = Shadows.HandlePageFault(address, errorCode);
        switch (fault.Kind)
        {
            case ShadowFaultKind.Hidden:
                return VmmOutcome.Retry;
            case ShadowFaultKind.Guest:
                return ReflectException(new GuestFault(Vectors.PF, fault.ErrorCode, address), eip, cpl);
            case ShadowFaultKind.HypervisorRegion:
                return ReflectException(HypervisorRegion.GuestFaultFor(Virtual.Memory, address, (errorCode & 2) != 0 ? MemoryAccess.Write : MemoryAccess.Read, cpl == 3), eip, cpl);
            default:
                bool decoded = Decoder.TryDecode(Cpu.Segment(SegReg.Cs).Base + eip, eip, cpl == 3, out var instruction);
                return EmulateBlockedWrite(fault, decoded, instruction, eip, cpl);
        }
    }

    // ---- Emulation ----

    /// <summary>
    /// Emulates a privileged or sensitive guest instruction (<paramref name="eip"/>: the guest EIP to report a fault
    /// at). A fault, or an instruction the emulator does not handle, is reflected into the guest (the caller counts
    /// what brought the VMM in).
    /// </summary>
    public VmmOutcome Emulate(in Instruction instruction, uint eip, int cpl, uint errorCode)
    {
        var result = Emulator.Emulate(instruction, cpl);
        switch (result.Status)
        {
            case EmulationStatus.Completed:
                return VmmOutcome.ContinueAt(result.NextEip);
            case EmulationStatus.Stopped:
                return VmmOutcome.Stopped;
            case EmulationStatus.Faulted:
                return ReflectException(result.Fault, eip, cpl);
            default:
                return ReflectException(Emulator.TryHypervisorRegionFault(instruction, cpl, out var hole) ? hole : new GuestFault(Vectors.GP, errorCode), eip, cpl);
        }
    }

    /// <summary>
    /// A write the shadows do not let through, resolved by <see cref="ShadowWriteEmulation"/>: emulated (continue after
    /// it), the page unshadowed (<see cref="VmmOutcome.Retry"/>), the guest's own fault reflected at guest EIP
    /// <paramref name="eip"/>, or the run stopped. <paramref name="instruction"/> is the writing instruction
    /// (<paramref name="decoded"/> false if it could not be read).
    /// </summary>
    public VmmOutcome EmulateBlockedWrite(in ShadowFault fault, bool decoded, in Instruction instruction, uint eip, int cpl)
    {
        var result = Writes.Resolve(fault, decoded, instruction, eip, cpl);
        return result.Status switch
        {
            EmulationStatus.Completed => VmmOutcome.ContinueAt(result.NextEip),
            EmulationStatus.Faulted => ReflectException(result.Fault, eip, cpl),
            EmulationStatus.Stopped => VmmOutcome.Stopped,
            _ => VmmOutcome.Retry,
        };
    }

    // ---- Reflection ----

    /// <summary>Reflects a guest exception that came from a trap (counted as one), with CR2 for a page fault.</summary>
    public VmmOutcome Reflect(GuestFault fault, uint eip, int cpl)
    {
        Counters.Add(Event.TrapException);
        return ReflectException(fault, eip, cpl);
    }

    /// <summary>Reflects a guest exception at guest EIP <paramref name="eip"/> (a fault: the frame returns to it), with CR2 for a page fault.</summary>
    public VmmOutcome ReflectException(GuestFault fault, uint eip, int cpl)
    {
        if (fault.Vector == Vectors.PF) Virtual.Cr2 = fault.Address;
        Reflection.Reflect(fault.Vector, ExceptionKind.Fault, fault.ErrorCode, eip, eip, cpl);
        return VmmOutcome.Reflected;
    }

    /// <summary>Stops the run with a reason (the VMM cannot go on).</summary>
    public VmmOutcome Stop(string reason)
    {
        Cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, reason));
        return VmmOutcome.Stopped;
    }

    /// <summary>
    /// Call as the VMM leaves: stops the run after <see cref="StuckLimit"/> entries at the same EIP and simulated time
    /// (a guest the VMM keeps re-entering without progress).
    /// </summary>
    public void CheckProgress()
    {
        if (Cpu.Ticks != _stuckTicks || Cpu.Eip != _stuckEip) (_stuckTicks, _stuckEip, _stuckEntries) = (Cpu.Ticks, Cpu.Eip, 0);
        else if (++_stuckEntries == StuckLimit)
            Cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"the VMM made no progress: {StuckLimit} entries at EIP 0x{Cpu.Eip:x8} without the guest advancing"));
    }

    // ---- IEmulationHost: what emulated instructions change beyond the virtual CPU ----

    /// <inheritdoc />
    public void Cr3Loaded()
    {
        Shadows.LoadCr3();
        MappingsChanged?.Invoke(null);
    }

    /// <inheritdoc />
    public void ControlRegisterWritten(int register, uint previous)
    {
        uint changed = previous ^ (register == 0 ? Virtual.Cr0 : Virtual.Cr4);
        bool tablesReadDifferently = register == 0 ? (changed & (Cr0Pg | Cr0Wp)) != 0 : (changed & Cr4Pse) != 0;
        if (register == 0) Cpu.SetCr0(RealCr0 | (Virtual.Cr0 & Cr0GuestBits));
        else Cpu.SetCr4(Virtual.Cr4 & Cr4GuestBits);
        if (!tablesReadDifferently) return;
        Shadows.Reset();
        TraceGdt();
        MappingsChanged?.Invoke(null);
    }

    /// <inheritdoc />
    public void PageInvalidated(uint linear)
    {
        Shadows.InvalidatePage(linear);
        MappingsChanged?.Invoke(linear);
    }

    /// <inheritdoc />
    public void GdtLoaded()
    {
        Tables.Mirror(Virtual);
        TraceGdt();
    }

    /// <inheritdoc />
    public void InterruptsEnabled() { }   // the engine lets a held interrupt through as it leaves the VMM (VirtualInterrupts.Update)

    /// <inheritdoc />
    public void Halted() => Cpu.Halted = true;

    /// <summary>Traces the pages of the guest's GDT, so that the real GDT follows the guest's writes to it.</summary>
    private void TraceGdt()
    {
        foreach (uint page in _gdtPages) Shadows.UntraceOther(page);
        _gdtPages.Clear();
        var gdtr = Virtual.Gdtr;
        if (gdtr.Limit == 0) return;
        for (uint page = gdtr.Base & ~0xFFFu; page <= gdtr.Base + gdtr.Limit; page += 4096)
        {
            var t = Virtual.Memory.Translate(page, MemoryAccess.Read, false, setAccessedDirty: false);
            if (!t.Ok) continue;
            Shadows.TraceOther(t.Physical);
            _gdtPages.Add(t.Physical);
        }
    }

    private void TracedPageWritten(uint physical, int length)
    {
        if (_gdtPages.Contains(physical & ~0xFFFu)) Tables.Mirror(Virtual);
        OtherTracedPageWritten?.Invoke(physical, length);
    }
}

/// <summary>How the VMM left the guest after handling an entry.</summary>
public enum VmmOutcomeKind
{
    /// <summary>The guest continues at <see cref="VmmOutcome.NextEip"/> (its instruction was emulated).</summary>
    Continue,
    /// <summary>The guest retries the same instruction (a hidden fault filled, a page unshadowed).</summary>
    Retry,
    /// <summary>An exception was reflected: the guest is at its handler (CS:EIP, stack and frame set).</summary>
    Reflected,
    /// <summary>The run is stopped.</summary>
    Stopped,
}

/// <summary>How the VMM left the guest after handling an entry (see <see cref="VmmOutcomeKind"/>).</summary>
/// <param name="Kind">What happened.</param>
/// <param name="NextEip">For <see cref="VmmOutcomeKind.Continue"/>: where the guest goes on.</param>
public readonly record struct VmmOutcome(VmmOutcomeKind Kind, uint NextEip = 0)
{
    /// <summary>The guest retries its instruction.</summary>
    public static VmmOutcome Retry => new(VmmOutcomeKind.Retry);

    /// <summary>An exception was reflected into the guest.</summary>
    public static VmmOutcome Reflected => new(VmmOutcomeKind.Reflected);

    /// <summary>The run is stopped.</summary>
    public static VmmOutcome Stopped => new(VmmOutcomeKind.Stopped);

    /// <summary>The guest continues at <paramref name="eip"/>.</summary>
    public static VmmOutcome ContinueAt(uint eip) => new(VmmOutcomeKind.Continue, eip);
}
