using Iced.Intel;
using VirtBench.Engines.Vmm;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// The VT-x VMM shared by hw-ept and hw-shadow: it launches the unmodified guest kernel in VMX non-root mode at
/// its own ring 0 and handles every VM exit, kvmtool-style, as a switch over the exit reason. Memory-related
/// exits go to the memory-virtualization strategy first. Every exit reads the fields a KVM handler reads
/// (exit reason, IDT-vectoring information, then what the reason needs), through the VMCS cache.
/// </summary>
internal sealed class VmxMonitor : IMonitor
{
    private const uint Cr0Pe = 1, Cr0Ne = 0x20, Cr0Nw = 0x2000_0000, Cr0Cd = 0x4000_0000, Cr0Pg = 0x8000_0000;
    private const uint InterruptFlag = 0x200;

    /// <summary>The MSRs the guest reads and writes without exits: their values are guest state in the VMCS.</summary>
    private static readonly uint[] PassThroughMsrs =
        [Msrs.SysenterCs, Msrs.SysenterEsp, Msrs.SysenterEip];

    private readonly Vcpu _vcpu;
    private readonly IMemoryVirtualization _memory;
    private readonly ControlRegisterExits _controlRegisters;

    /// <summary>A VMM for the guest of <paramref name="pc"/> that virtualizes memory with <paramref name="memory"/>.</summary>
    public VmxMonitor(Pc pc, IMemoryVirtualization memory)
    {
        _vcpu = new Vcpu(pc);
        _memory = memory;
        _controlRegisters = new ControlRegisterExits(memory);
    }

    /// <summary>The virtual CPU.</summary>
    public Vcpu Vcpu => _vcpu;

    /// <summary>Machine memory a VMM with this strategy needs above guest RAM (its MSR bitmap and the strategy's tables).</summary>
    public static uint VmmBytes(IMemoryVirtualization memory, uint guestRamBytes) => 4096 + memory.VmmBytes(guestRamBytes);

    /// <summary>
    /// Sets up the VMCS and launches the guest at the state the multiboot loader left: external interrupts,
    /// hlt, every port access and the MSRs outside the bitmap's pass-through list exit; cpuid and vmcall always
    /// do. Translations are tagged with a VPID, so exits do not flush the TLB (unless the memory strategy models a
    /// processor without VPIDs).
    /// </summary>
    public void Launch()
    {
        var cpu = _vcpu.Cpu;
        var vmm = new VmmMemory(_vcpu.Pc.Memory);
        uint msrBitmap = vmm.Allocate(4096);
        vmm.Memory.Fill(msrBitmap, 4096, 0xFF); // every MSR access exits...
        foreach (uint msr in PassThroughMsrs)
        {
            PassThrough(msrBitmap, msr);           // ...but reads
            PassThrough(msrBitmap + 2048, msr);    // and writes of the SYSENTER MSRs
        }
        PassThrough(msrBitmap, Msrs.Tsc);          // and reads of the TSC, which rdtsc reads without an exit too
        _memory.Allocate(vmm);

        var setup = new VmxSetup
        {
            Pin = PinBasedControls.ExternalInterruptExiting,
            Processor = ProcessorBasedControls.HltExiting | ProcessorBasedControls.UnconditionalIoExiting |
                        ProcessorBasedControls.UseMsrBitmaps | ProcessorBasedControls.ActivateSecondaryControls,
            Secondary = SecondaryControls.EnableVpid,
            Cr0Owned = Cr0Pe | Cr0Pg | Cr0Ne | Cr0Cd | Cr0Nw, // mode and cache changes, and the fixed NE
        };
        _memory.Configure(setup);

        var v = _vcpu.Vmcs;
        v.Write(VmcsField.PinBasedControls, (uint)setup.Pin);
        v.Write(VmcsField.ProcessorBasedControls, (uint)setup.Processor);
        v.Write(VmcsField.SecondaryControls, (uint)setup.Secondary);
        v.Write(VmcsField.ExceptionBitmap, setup.ExceptionBitmap);
        v.Write(VmcsField.MsrBitmap, msrBitmap);
        if ((setup.Secondary & SecondaryControls.EnableEpt) != 0) v.Write(VmcsField.EptPointer, setup.EptPointer);
        _memory.Launch(_vcpu, cpu.Cr0, cpu.Cr3, cpu.Cr4);
        _controlRegisters.Launch(_vcpu, setup, cpu.Cr0, cpu.Cr4);
        _vcpu.Events.Launched((uint)setup.Processor);
        cpu.Monitor = this;
        cpu.Launch(v);
    }

    /// <summary>Clears an MSR's bit in one quarter of the MSR bitmap (low MSRs only).</summary>
    private void PassThrough(uint quarter, uint msr)
    {
        var memory = _vcpu.Pc.Memory;
        memory.Write8(quarter + msr / 8, (byte)(memory.Read8(quarter + msr / 8) & ~(1 << (int)(msr & 7))));
    }

    /// <inheritdoc />
    public void OnVmExit(Cpu cpu, in VmExit exit)
    {
        // The exit record is the hardware's uncounted copy; a VMM reads the VMCS, as KVM does with VMREAD.
        var v = _vcpu;
        v.Cache.Invalidate();
        var reason = (VmExitReason)(v.Vmcs.Read(VmcsField.ExitReason) & 0xFFFF);
        v.Events.CompleteInterrupted();
        if (!_memory.TryHandleExit(v, reason)) Handle(reason);
        if (cpu.Outcome is null) v.Events.BeforeEntry();
        v.Cache.Flush();
    }

    private void Handle(VmExitReason reason)
    {
        switch (reason)
        {
            case VmExitReason.ExternalInterrupt: AcknowledgeInterrupt(); break;
            case VmExitReason.InterruptWindow: break; // the pending interrupt goes in on this entry
            case VmExitReason.Cpuid: Cpuid(); break;
            case VmExitReason.Hlt: Hlt(); break;
            case VmExitReason.IoInstruction: PortIo(); break;
            case VmExitReason.Rdmsr: Rdmsr(); break;
            case VmExitReason.Wrmsr: Wrmsr(); break;
            case VmExitReason.Vmcall: Vmcall(); break;
            case VmExitReason.ControlRegisterAccess: _controlRegisters.Handle(_vcpu); break;
            case VmExitReason.Exception: ReflectException(); break;
            case VmExitReason.TripleFault:
                _vcpu.Cpu.Stop(new RunOutcome(OutcomeKind.TripleFault, $"triple fault at EIP 0x{_vcpu.Cache.Rip:x8} (VM exit)"));
                break;
            default:
                _vcpu.Stop($"unexpected VM exit {reason} at EIP 0x{_vcpu.Cache.Rip:x8}");
                break;
        }
    }

    /// <summary>The host's interrupt handler acknowledges the PIC; the vector waits for the guest.</summary>
    private void AcknowledgeInterrupt() => _vcpu.Events.QueueInterrupt(_vcpu.Pc.Pic.Acknowledge());

    /// <summary>cpuid: the machine's identity, with the hypervisor-present bit (leaf 1, ECX bit 31) that VMMs set.</summary>
    private void Cpuid()
    {
        var cpu = _vcpu.Cpu;
        uint leaf = cpu.Eax;
        var (eax, ebx, ecx, edx) = CpuIdentity.Leaf(leaf);
        if (leaf == 1) ecx |= 1u << 31;
        (cpu.Eax, cpu.Ebx, cpu.Ecx, cpu.Edx) = (eax, ebx, ecx, edx);
        _vcpu.Emulated(Mnemonic.Cpuid);
        _vcpu.SkipInstruction();
    }

    /// <summary>
    /// hlt: with IF = 1 the VMM blocks the vCPU until the interrupt controller requests (simulated time passes
    /// idle, as on bare metal) and the interrupt goes in on the entry; with IF = 0 the guest has stopped for good,
    /// and so does the run, as the bare machine's would.
    /// </summary>
    private void Hlt()
    {
        var v = _vcpu;
        v.Emulated(Mnemonic.Hlt);
        v.SkipInstruction();
        if ((v.Cache.Rflags & InterruptFlag) == 0)
        {
            v.Cpu.Stop(new RunOutcome(OutcomeKind.Halted, $"hlt with interrupts disabled at EIP 0x{v.Cache.Rip:x8}"));
            return;
        }
        if (v.Events.InterruptPending) return;
        v.Cache.Flush();
        if (v.Cpu.WaitForInterrupt()) AcknowledgeInterrupt();
    }

    /// <summary>in/out: served by the emulated devices.</summary>
    private void PortIo()
    {
        var v = _vcpu;
        var io = IoQualification.Decode(v.Cache.ExitQualification);
        if (io.String)
        {
            v.Stop($"string port I/O (port 0x{io.Port:x4}) at EIP 0x{v.Cache.Rip:x8}: this VMM emulates in and out only");
            return;
        }
        var cpu = v.Cpu;
        uint mask = io.Size == 4 ? 0xFFFF_FFFF : io.Size == 2 ? 0xFFFFu : 0xFFu;
        if (io.In) cpu.Eax = (cpu.Eax & ~mask) | (v.Devices.In(io.Port, io.Size) & mask);
        else v.Devices.Out(io.Port, io.Size, cpu.Eax & mask);
        v.Emulated(io.In ? Mnemonic.In : Mnemonic.Out);
        v.SkipInstruction();
    }

    /// <summary>rdmsr of an intercepted MSR: the time-stamp counter and the SYSENTER MSRs (if ever intercepted); others #GP(0), as on the machine.</summary>
    private void Rdmsr()
    {
        var v = _vcpu;
        var cpu = v.Cpu;
        ulong value;
        switch (cpu.Ecx)
        {
            case Msrs.Tsc: value = cpu.TimeStampCounter; break;
            case Msrs.SysenterCs: value = v.Vmcs.Read(VmcsField.GuestSysenterCs); break;
            case Msrs.SysenterEsp: value = v.Vmcs.Read(VmcsField.GuestSysenterEsp); break;
            case Msrs.SysenterEip: value = v.Vmcs.Read(VmcsField.GuestSysenterEip); break;
            default: v.Events.QueueException(Vectors.GP, 0); return;
        }
        (cpu.Eax, cpu.Edx) = ((uint)value, (uint)(value >> 32));
        v.Emulated(Mnemonic.Rdmsr);
        v.SkipInstruction();
    }

    /// <summary>wrmsr of an intercepted MSR: the SYSENTER MSRs go to their guest-state fields; others #GP(0), as on the machine.</summary>
    private void Wrmsr()
    {
        var v = _vcpu;
        var cpu = v.Cpu;
        VmcsField field;
        switch (cpu.Ecx)
        {
            case Msrs.SysenterCs: field = VmcsField.GuestSysenterCs; break;
            case Msrs.SysenterEsp: field = VmcsField.GuestSysenterEsp; break;
            case Msrs.SysenterEip: field = VmcsField.GuestSysenterEip; break;
            default: v.Events.QueueException(Vectors.GP, 0); return;
        }
        v.Vmcs.Write(field, cpu.Eax);
        v.Emulated(Mnemonic.Wrmsr);
        v.SkipInstruction();
    }

    /// <summary>vmcall: this VMM offers no hypercalls; like KVM it answers an unknown one with -ENOSYS (-1000) in EAX.</summary>
    private void Vmcall()
    {
        _vcpu.Cpu.Eax = unchecked((uint)-1000);
        _vcpu.Emulated(Mnemonic.Vmcall);
        _vcpu.SkipInstruction();
    }

    /// <summary>An intercepted exception the strategy did not claim goes back to the guest unchanged.</summary>
    private void ReflectException()
    {
        var v = _vcpu;
        var info = InterruptionInfo.Decode(v.Vmcs.Read(VmcsField.ExitInterruptionInfo));
        uint error = info.DeliversErrorCode ? v.Vmcs.Read(VmcsField.ExitInterruptionErrorCode) : 0;
        if (info.Vector == Vectors.PF) v.Cpu.Cr2 = v.Cache.ExitQualification;
        int length = info.IsSoftware ? (int)v.Vmcs.Read(VmcsField.ExitInstructionLength) : 0;
        v.Events.Queue(info, error, length);
    }

    /// <inheritdoc />
    public Disposition OnException(Cpu cpu, in GuestException exception) => Disposition.Deliver; // not called in VMX non-root mode

    /// <inheritdoc />
    public void OnExternalInterrupt(Cpu cpu) { } // not called in VMX non-root mode: interrupts exit

    /// <inheritdoc />
    public void OnSensitiveInstruction(Cpu cpu, in SensitiveInstruction instruction) { } // the guest kernel runs at ring 0
}
