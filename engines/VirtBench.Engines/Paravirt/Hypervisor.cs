using System.Buffers.Binary;
using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

/// <summary>
/// The Xen-style hypervisor: the monitor of a paravirtual guest whose kernel runs at ring 1. It is entered only by
/// hypercalls (<c>int 0x82</c> from ring 1), by guest exceptions (bounced to the guest kernel's registered
/// handlers), and by hardware interrupts (turned into event upcalls). System calls through int 0x80 never enter
/// it: the CPU delivers them through the direct gate in the real IDT. The guest's page tables are the ones the MMU
/// walks; the hypervisor only validates every change to them (<see cref="FrameTable"/>).
/// </summary>
/// <remarks>The calls are in the other <c>Hypervisor.*.cs</c> files: memory, traps and descriptors, events.</remarks>
internal sealed partial class Hypervisor : IMonitor
{
    private readonly Pc _pc;
    private readonly GuestAddressSpace _guest;
    private readonly GuestKernelEntry _entry;

    /// <summary>Builds the hypervisor over a machine whose VMM region holds its tables (see <see cref="DomainBuilder"/>).</summary>
    public Hypervisor(Pc pc, HypervisorLayout layout)
    {
        _pc = pc;
        _guest = new GuestAddressSpace(pc.Memory) { Paging = true, WriteProtect = true };
        Frames = new FrameTable(pc.Memory, pc.Counters, pc.Cpu.Mmu);
        _guest.OwnsFrame = frame => Frames.OwnerOf(frame) is FrameOwner.Guest or FrameOwner.Shared;
        Tables = new DescriptorTables(pc.Memory, layout.Gdt, layout.Idt, layout.Tss);
        Shared = new SharedInfoPage(pc.Memory, layout.SharedInfo);
        _entry = new GuestKernelEntry(_guest, Tables, Shared);
        Events = new EventChannels(Shared, pc.Pic, pc.Counters, _entry, Crash);
        Ring = new DeviceRingBackend(pc.Memory, new VirtualDevices(pc), DeviceRing.Address);
    }

    /// <summary>Ownership and page types of every frame.</summary>
    public FrameTable Frames { get; }

    /// <summary>The real GDT, IDT and TSS.</summary>
    public DescriptorTables Tables { get; }

    /// <summary>The shared-info page.</summary>
    public SharedInfoPage Shared { get; }

    /// <summary>Event channels and upcalls.</summary>
    public EventChannels Events { get; }

    /// <summary>The device ring's backend.</summary>
    public DeviceRingBackend Ring { get; }

    /// <summary>The guest's virtual IDT.</summary>
    public TrapTable Traps { get; } = new();

    /// <summary>Where a user-mode sysenter goes (callback_op), if registered.</summary>
    public GuestHandler? SysenterCallback { get; private set; }

    /// <summary>The failsafe callback: entered when an iret hypercall asks for a return the CPU could not make.</summary>
    public GuestHandler? FailsafeCallback { get; private set; }

    /// <summary>The page-directory frame the CPU walks (the guest's current base pointer).</summary>
    public uint BaseFrame { get; private set; }

    /// <summary>Every way into the hypervisor but interrupts: hypercalls, software interrupts, sysenter, faults.</summary>
    public Disposition OnException(Cpu cpu, in GuestException exception)
    {
        switch (exception)
        {
            case { Vector: HypercallVector, Kind: ExceptionKind.SoftwareInterrupt } when cpu.Cpl == 1:
                Hypercall(cpu, exception.NextEip);
                break;
            case { Kind: ExceptionKind.SoftwareInterrupt } or { Kind: ExceptionKind.Trap, Vector: Vectors.BP or Vectors.OF }:
                SoftwareInterrupt(cpu, exception);
                break;
            case { Vector: Vectors.GP } when cpu.Cpl == 3 && IsSysenter(cpu, exception.InstructionEip):
                Sysenter(cpu, exception);
                break;
            default:
                Fault(cpu, exception);
                break;
        }
        return Disposition.Handled;
    }

    /// <inheritdoc />
    public void OnExternalInterrupt(Cpu cpu) => Events.OnInterrupt(cpu);

    /// <inheritdoc />
    public void OnVmExit(Cpu cpu, in VmExit exit) => Crash(cpu, $"VM exit {exit.Reason} in a paravirtual domain");

    /// <inheritdoc />
    public void OnSensitiveInstruction(Cpu cpu, in SensitiveInstruction instruction) { }

    /// <summary>One hypercall: a switch over the call number, as Xen's hypercall table.</summary>
    private void Hypercall(Cpu cpu, uint returnEip)
    {
        cpu.Eip = returnEip;
        uint number = cpu.Eax;
        if (number == ParavirtAbi.Hypercall.Iret)
        {
            Iret(cpu);
            Count(Event.HypercallIret);
            return;
        }
        uint b = cpu.Ebx, c = cpu.Ecx, d = cpu.Edx, s = cpu.Esi;
        (int result, Event counted) = number switch
        {
            ParavirtAbi.Hypercall.SetTrapTable => (SetTrapTable(cpu, b), Event.HypercallSetTrapTable),
            ParavirtAbi.Hypercall.MmuUpdate => (MmuUpdate(b, c, d, s), Event.HypercallMmuUpdate),
            ParavirtAbi.Hypercall.SetGdt => (SetGdt(b, c), Event.HypercallOther),
            ParavirtAbi.Hypercall.StackSwitch => (StackSwitch(cpu, b, c), Event.HypercallStackSwitch),
            ParavirtAbi.Hypercall.SetCallbacks => (SetCallbacks(b, c, d, s), Event.HypercallOther),
            ParavirtAbi.Hypercall.XenVersion => (0x0003_0000, Event.HypercallOther),
            ParavirtAbi.Hypercall.ConsoleIo => (ConsoleIo(b, c, d), Event.HypercallConsole),
            ParavirtAbi.Hypercall.MmuExtOp => (MmuExtOp(cpu, b, c, d, s), Event.HypercallMmuExtOp),
            ParavirtAbi.Hypercall.SchedOp => (SchedOp(cpu, b, c), Event.HypercallSchedOp),
            ParavirtAbi.Hypercall.CallbackOp => (CallbackOp(b, c), Event.HypercallOther),
            ParavirtAbi.Hypercall.EventChannelOp => (EventChannelOp(cpu, b, c), Event.HypercallEventChannel),
            _ => (-Error.ENOSYS, Event.HypercallOther),
        };
        cpu.Eax = unchecked((uint)result);
        Count(counted);
        Events.TryUpcall(cpu);
    }

    /// <summary>The domain cannot go on (Xen's domain_crash): the run stops with the reason.</summary>
    private void Crash(Cpu cpu, string reason) =>
        cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"paravirt: the guest domain crashed: {reason} (EIP 0x{cpu.Eip:x8})"));

    private void Count(Event e, ulong n = 1) => _pc.Counters.Add(e, n);

    // ---- Guest memory (hypercall arguments are guest linear addresses, read as ring 1 would) ----

    private bool TryRead(uint linear, Span<byte> destination) => _guest.TryReadBytes(linear, destination, user: false, out _);

    private bool TryRead32(uint linear, out uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        bool ok = TryRead(linear, bytes);
        value = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        return ok;
    }

    private bool TryWrite32(uint linear, uint value) => _guest.TryWrite(linear, 4, user: false, value, out _);

    /// <summary>Points the CPU and the hypervisor's guest walker at a page directory.</summary>
    private void LoadBase(Cpu cpu, uint frame)
    {
        BaseFrame = frame;
        _guest.Root = frame << 12;
        cpu.SetCr3(frame << 12);
    }
}
