using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// Emulates a guest's privileged and sensitive instructions on its <see cref="VirtualCpu"/>, given the instruction
/// as Iced decoded it (<see cref="GuestInstructionDecoder"/>) and the guest's privilege level: interrupt flag
/// (cli, sti, pushf, popf, hlt), control registers, descriptor tables, segment registers that reveal or need the
/// real ring, iret, sysenter and sysexit, far jmp/call/ret within the guest's ring, port I/O through
/// <see cref="VirtualDevices"/>, MSRs, cpuid, and the guest's writes to traced pages (<see cref="EmulateWrite"/>). Operands are read and written through the guest's own page
/// tables. Each checks privilege as the guest's CPU would and reports the guest exception instead when it fails.
/// </summary>
/// <remarks>
/// The real segment registers are loaded for a guest kernel deprivileged to ring 1 (<see cref="GuestRings"/>),
/// from a real GDT that mirrors the guest's (<see cref="MonitorDescriptorTables"/>). A completed emulation counts
/// <see cref="Counters.AddEmulation"/> and advances simulated time by one instruction, as if it had retired, so the
/// guest's timeline (timer interrupts, rdtsc) is the one it has on bare metal. The caller counts the trap and sets
/// EIP from the result.
/// </remarks>
public sealed partial class InstructionEmulator
{
    private const uint IfBit = 1u << 9;

    private readonly Cpu _cpu;
    private readonly VirtualCpu _v;
    private readonly GuestAddressSpace _memory;
    private readonly GuestDescriptors _descriptors;
    private readonly VirtualDevices _devices;
    private readonly IEmulationHost? _host;
    private readonly Counters _counters;
    private int _cpl;

    /// <summary>
    /// An emulator for the guest whose virtual CPU is <paramref name="vcpu"/>, running on <paramref name="cpu"/>.
    /// Without a <paramref name="host"/> it emulates writes to traced pages only (<see cref="EmulateWrite"/>), as a
    /// VT-x VMM needs: there the guest runs its privileged instructions itself, or they exit already decoded.
    /// </summary>
    public InstructionEmulator(Cpu cpu, VirtualCpu vcpu, VirtualDevices devices, IEmulationHost? host)
    {
        _cpu = cpu;
        _v = vcpu;
        _memory = vcpu.Memory;
        _descriptors = new GuestDescriptors(vcpu);
        _devices = devices;
        _host = host;
        _counters = cpu.Counters;
    }

    private IEmulationHost Host => _host ?? throw new InvalidOperationException("this instruction emulator has no IEmulationHost: it emulates writes to traced pages only");

    /// <summary>The guest's descriptor tables, as this emulator reads them.</summary>
    public GuestDescriptors Descriptors => _descriptors;

    /// <summary>
    /// Emulates a privileged or sensitive instruction executed at guest privilege level <paramref name="guestCpl"/>
    /// (its <see cref="Instruction.IP"/> is the guest EIP).
    /// </summary>
    public EmulationResult Emulate(in Instruction instruction, int guestCpl)
    {
        _cpl = guestCpl;
        switch (instruction.Mnemonic)
        {
            case Mnemonic.Cli: return Cli(instruction);
            case Mnemonic.Sti: return Sti(instruction);
            case Mnemonic.Hlt: return Hlt(instruction);
            case Mnemonic.Pushf or Mnemonic.Pushfd: return Pushf(instruction);
            case Mnemonic.Popf or Mnemonic.Popfd: return Popf(instruction);
            case Mnemonic.In or Mnemonic.Out: return PortIo(instruction);
            case Mnemonic.Mov when instruction.Op0Kind == OpKind.Register && instruction.Op0Register.IsCR(): return MovToCr(instruction);
            case Mnemonic.Mov when instruction.Op1Kind == OpKind.Register && instruction.Op1Register.IsCR(): return MovFromCr(instruction);
            case Mnemonic.Mov when IsDebugRegisterMove(instruction): return DebugRegister();
            case Mnemonic.Mov when instruction.Op0Kind == OpKind.Register && instruction.Op0Register == Register.SS: return LoadStackSegment(instruction);
            case Mnemonic.Mov when instruction.Op1Kind == OpKind.Register && instruction.Op1Register is Register.CS or Register.SS: return ReadSegment(instruction);
            case Mnemonic.Push when instruction.Op0Kind == OpKind.Register && instruction.Op0Register is Register.CS or Register.SS: return PushSegment(instruction);
            case Mnemonic.Pop when instruction.Op0Kind == OpKind.Register && instruction.Op0Register == Register.SS: return LoadStackSegment(instruction);
            case Mnemonic.Lss: return LoadStackSegment(instruction);
            case Mnemonic.Clts: return Clts(instruction);
            case Mnemonic.Lmsw: return Lmsw(instruction);
            case Mnemonic.Smsw: return Smsw(instruction);
            case Mnemonic.Invlpg: return Invlpg(instruction);
            case Mnemonic.Rdmsr: return Rdmsr(instruction);
            case Mnemonic.Wrmsr: return Wrmsr(instruction);
            case Mnemonic.Rdtsc: return Rdtsc(instruction);
            case Mnemonic.Wbinvd or Mnemonic.Invd: return _cpl == 0 ? Done(instruction) : GeneralProtection();
            case Mnemonic.Lgdt or Mnemonic.Lidt: return LoadTableRegister(instruction);
            case Mnemonic.Sgdt or Mnemonic.Sidt: return StoreTableRegister(instruction);
            case Mnemonic.Lldt: return Lldt(instruction);
            case Mnemonic.Ltr: return Ltr(instruction);
            case Mnemonic.Sldt or Mnemonic.Str: return StoreSystemSelector(instruction);
            case Mnemonic.Lar or Mnemonic.Lsl or Mnemonic.Verr or Mnemonic.Verw: return QueryDescriptor(instruction);
            case Mnemonic.Iret or Mnemonic.Iretd: return InterruptReturn(instruction);
            case Mnemonic.Sysenter: return SysEnter(instruction);
            case Mnemonic.Sysexit: return SysExit(instruction);
            case Mnemonic.Jmp when instruction.Op0Kind is OpKind.FarBranch32 or OpKind.FarBranch16 || IsFarMemory(instruction): return FarJump(instruction);
            case Mnemonic.Call when instruction.Op0Kind is OpKind.FarBranch32 or OpKind.FarBranch16 || IsFarMemory(instruction): return FarCall(instruction);
            case Mnemonic.Retf: return FarReturn(instruction);
            case Mnemonic.Cpuid: return Cpuid(instruction);
            default: return new EmulationResult(EmulationStatus.NotEmulated);
        }
    }

    private static bool IsFarMemory(in Instruction i) => i.Op0Kind == OpKind.Memory && i.MemorySize is MemorySize.SegPtr32 or MemorySize.SegPtr16;

    // ---- Results ----

    /// <summary>Completes an instruction that falls through to the next one.</summary>
    private EmulationResult Done(in Instruction i) => Continue(i, (uint)i.NextIP);

    /// <summary>Completes an instruction, continuing at <paramref name="eip"/>.</summary>
    private EmulationResult Continue(in Instruction i, uint eip)
    {
        _counters.AddEmulation(i.Mnemonic);
        _cpu.Ticks++;
        return new EmulationResult(EmulationStatus.Completed, eip);
    }

    private static EmulationResult Fault(int vector, uint? error = null, uint address = 0) =>
        new(EmulationStatus.Faulted, Fault: new GuestFault(vector, error, address));

    private static EmulationResult GeneralProtection(uint error = 0) => Fault(Vectors.GP, error);

    // ---- Registers ----

    private uint ReadRegister(Register r)
    {
        if (r.IsGPR32()) return _cpu[(Reg)(r - Register.EAX)];
        if (r.IsGPR16()) return _cpu[(Reg)(r - Register.AX)] & 0xFFFF;
        if (r.IsGPR8())
        {
            int n = r - Register.AL;
            return n < 4 ? _cpu[(Reg)n] & 0xFF : (_cpu[(Reg)(n - 4)] >> 8) & 0xFF;
        }
        if (r.IsSegmentRegister()) return _cpu.Segment((SegReg)(r - Register.ES)).Selector;
        throw new ArgumentOutOfRangeException(nameof(r), $"register {r} is not emulated");
    }

    private void WriteRegister(Register r, uint value)
    {
        if (r.IsGPR32()) _cpu[(Reg)(r - Register.EAX)] = value;
        else if (r.IsGPR16()) { var n = (Reg)(r - Register.AX); _cpu[n] = (_cpu[n] & 0xFFFF_0000) | (value & 0xFFFF); }
        else if (r.IsGPR8())
        {
            int n = r - Register.AL;
            var reg = (Reg)(n & 3);
            _cpu[reg] = n < 4 ? (_cpu[reg] & ~0xFFu) | (value & 0xFF) : (_cpu[reg] & ~0xFF00u) | ((value & 0xFF) << 8);
        }
        else throw new ArgumentOutOfRangeException(nameof(r), $"register {r} is not emulated");
    }

    /// <summary>
    /// The linear address of a memory operand of a guest instruction (segment base included), with the CPU's
    /// registers: base + index x scale + displacement (wrapping at 16 bits with 16-bit addressing), or the string
    /// operands' (E)SI and (E)DI. Computed here because Iced's own computation allocates a wrapper per call.
    /// </summary>
    public uint LinearAddress(in Instruction instruction, int operand)
    {
        switch (instruction.GetOpKind(operand))
        {
            case OpKind.MemorySegESI: return SegmentBase(instruction.MemorySegment) + _cpu.Esi;
            case OpKind.MemorySegSI: return SegmentBase(instruction.MemorySegment) + (_cpu.Esi & 0xFFFF);
            case OpKind.MemorySegEDI: return SegmentBase(instruction.MemorySegment) + _cpu.Edi;
            case OpKind.MemorySegDI: return SegmentBase(instruction.MemorySegment) + (_cpu.Edi & 0xFFFF);
            case OpKind.MemoryESEDI: return SegmentBase(Register.ES) + _cpu.Edi;
            case OpKind.MemoryESDI: return SegmentBase(Register.ES) + (_cpu.Edi & 0xFFFF);
        }
        var (baseRegister, index) = (instruction.MemoryBase, instruction.MemoryIndex);
        uint offset = instruction.MemoryDisplacement32;
        if (baseRegister != Register.None) offset += ReadRegister(baseRegister);
        if (index != Register.None) offset += ReadRegister(index) * (uint)instruction.MemoryIndexScale;
        bool sixteenBit = baseRegister.IsGPR16() || index.IsGPR16() ||
                          (baseRegister == Register.None && index == Register.None && instruction.MemoryDisplSize == 2);
        return SegmentBase(instruction.MemorySegment) + (sixteenBit ? offset & 0xFFFF : offset);
    }

    private uint SegmentBase(Register segment) => _cpu.Segment((SegReg)(segment - Register.ES)).Base;

    private uint Linear(in Instruction i, int operand) => LinearAddress(i, operand);

    /// <summary>
    /// If a memory operand of the instruction reaches into the hypervisor region (where the real segments end, so
    /// the access raised #GP), the exception the guest gets for it instead (<see cref="HypervisorRegion.GuestFaultFor"/>).
    /// </summary>
    public bool TryHypervisorRegionFault(in Instruction instruction, int guestCpl, out GuestFault fault)
    {
        fault = default;
        for (int operand = 0; operand < instruction.OpCount; operand++)
        {
            if (!IsMemory(instruction.GetOpKind(operand))) continue;
            uint linear = LinearAddress(instruction, operand);
            uint last = linear + (uint)Math.Max(1, instruction.MemorySize.GetSize()) - 1;
            if (!HypervisorRegion.Contains(linear) && !HypervisorRegion.Contains(last) && last >= linear) continue;
            var access = _info.GetInfo(instruction).GetOpAccess(operand) is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite
                ? MemoryAccess.Write : MemoryAccess.Read;
            fault = HypervisorRegion.GuestFaultFor(_memory, HypervisorRegion.Contains(linear) ? linear : HypervisorRegion.Base, access, guestCpl == 3);
            return true;
        }
        return false;
    }

    private readonly InstructionInfoFactory _info = new();

    private static bool IsMemory(OpKind kind) => kind is OpKind.Memory or OpKind.MemorySegSI or OpKind.MemorySegESI or
        OpKind.MemorySegDI or OpKind.MemorySegEDI or OpKind.MemoryESDI or OpKind.MemoryESEDI;

    // ---- Guest memory (through the guest's tables, at the guest's privilege level) ----

    private bool TryRead(uint linear, int size, out uint value, out EmulationResult fault)
    {
        value = 0;
        if (!Reachable(linear, size, MemoryAccess.Read, out fault)) return false;
        if (_memory.TryRead(linear, size, _cpl == 3, out value, out _)) return true;
        fault = PageFault(linear, size, MemoryAccess.Read);
        return false;
    }

    private bool TryWrite(uint linear, int size, uint value, out EmulationResult fault)
    {
        if (!Reachable(linear, size, MemoryAccess.Write, out fault)) return false;
        if (_memory.TryWrite(linear, size, _cpl == 3, value, out _)) return true;
        fault = PageFault(linear, size, MemoryAccess.Write);
        return false;
    }

    /// <summary>False, with the guest's fault, when an access reaches into the hypervisor region the VMM reserves.</summary>
    private bool Reachable(uint linear, int size, MemoryAccess access, out EmulationResult fault)
    {
        fault = default;
        if (!_memory.HypervisorRegionReserved) return true;
        uint last = linear + (uint)size - 1;
        if (!HypervisorRegion.Contains(linear) && !HypervisorRegion.Contains(last) && last >= linear) return true;
        uint at = HypervisorRegion.Contains(linear) ? linear : HypervisorRegion.Base;
        var f = HypervisorRegion.GuestFaultFor(_memory, at, access, _cpl == 3);
        fault = Fault(f.Vector, f.ErrorCode, f.Address);
        return false;
    }

    /// <summary>The #PF of an access the guest's tables refuse, with CR2 at the first byte that does not translate.</summary>
    private EmulationResult PageFault(uint linear, int size, MemoryAccess access)
    {
        var first = _memory.Translate(linear, access, _cpl == 3, setAccessedDirty: false);
        if (first.Status == GuestTranslationStatus.PageFault) return Fault(Vectors.PF, first.ErrorCode, linear);
        uint second = (linear + (uint)size - 1) & ~0xFFFu;
        var t = _memory.Translate(second, access, _cpl == 3, setAccessedDirty: false);
        return Fault(Vectors.PF, t.ErrorCode, second);
    }

    // ---- Stack ----

    private uint StackMask => _cpu.Segment(SegReg.Ss).Big ? 0xFFFF_FFFFu : 0xFFFFu;

    private uint StackLinear(uint offset) => _cpu.Segment(SegReg.Ss).Base + ((_cpu.Esp + offset) & StackMask);

    private bool TryPeek(uint offset, int size, out uint value, out EmulationResult fault) =>
        TryRead(StackLinear(offset), size, out value, out fault);

    private void AdjustStack(int delta)
    {
        uint mask = StackMask;
        _cpu.Esp = (_cpu.Esp & ~mask) | ((_cpu.Esp + (uint)delta) & mask);
    }

    private bool TryPush(uint value, int size, out EmulationResult fault)
    {
        if (!TryWrite(StackLinear(unchecked((uint)-size)), size, value, out fault)) return false;
        AdjustStack(-size);
        return true;
    }

    // ---- Operands ----

    /// <summary>Reads a 16-bit selector (or other r/m16) operand.</summary>
    private bool TryReadOperand16(in Instruction i, int operand, out uint value, out EmulationResult fault)
    {
        fault = default;
        if (i.GetOpKind(operand) == OpKind.Register) { value = ReadRegister(i.GetOpRegister(operand)) & 0xFFFF; return true; }
        return TryRead(Linear(i, operand), 2, out value, out fault);
    }

    /// <summary>Stores a 16-bit value the way sldt/str/smsw/mov-from-segment do: zero-extended into a 32-bit register, a word in memory.</summary>
    private bool TryStoreWordOperand(in Instruction i, uint value, out EmulationResult fault)
    {
        fault = default;
        if (i.Op0Kind == OpKind.Register) { WriteRegister(i.Op0Register, value); return true; }
        return TryWrite(Linear(i, 0), 2, value, out fault);
    }
}
