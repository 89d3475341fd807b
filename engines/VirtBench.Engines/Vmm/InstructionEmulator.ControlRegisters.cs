using Iced.Intel;
using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Vmm;

// Control registers, debug registers, TLB maintenance, time, MSRs and cpuid: every one privileged except smsw
// (sensitive), rdtsc (privileged only under CR4.TSD) and cpuid (a VMM may want to answer it).
public sealed partial class InstructionEmulator
{
    private const uint Cr0Pe = 1, Cr0Ts = 8, Cr0Nw = 0x2000_0000, Cr0Cd = 0x4000_0000, Cr0Pg = 0x8000_0000, Cr4Tsd = 4;
    private const uint MsrTsc = 0x10, MsrSysenterCs = 0x174, MsrSysenterEsp = 0x175, MsrSysenterEip = 0x176;

    private EmulationResult MovToCr(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        uint value = ReadRegister(i.Op1Register);
        switch (i.Op0Register)
        {
            case Register.CR0:
                if ((value & (Cr0Pg | Cr0Pe)) == Cr0Pg || (value & (Cr0Nw | Cr0Cd)) == Cr0Nw) return GeneralProtection();
                return WriteCr0(i, value);
            case Register.CR2:
                _v.Cr2 = value;
                return Done(i);
            case Register.CR3:
                _v.SetCr3(value);
                Host.Cr3Loaded();
                return Done(i);
            case Register.CR4:
            {
                if ((value & ~0x0000_07FFu) != 0) return GeneralProtection();
                uint previous = _v.Cr4;
                _v.SetCr4(value);
                Host.ControlRegisterWritten(4, previous);
                return Done(i);
            }
            default:
                return Fault(Vectors.UD);
        }
    }

    private EmulationResult WriteCr0(in Instruction i, uint value)
    {
        uint previous = _v.Cr0;
        _v.SetCr0(value);
        Host.ControlRegisterWritten(0, previous);
        return Done(i);
    }

    private EmulationResult MovFromCr(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        uint value;
        switch (i.Op1Register)
        {
            case Register.CR0: value = _v.Cr0; break;
            case Register.CR2: value = _v.Cr2; break;
            case Register.CR3: value = _v.Cr3; break;
            case Register.CR4: value = _v.Cr4; break;
            default: return Fault(Vectors.UD);
        }
        WriteRegister(i.Op0Register, value);
        return Done(i);
    }

    private static bool IsDebugRegisterMove(in Instruction i) =>
        (i.Op0Kind == OpKind.Register && (i.Op0Register.IsDR() || i.Op0Register.IsTR())) ||
        (i.Op1Kind == OpKind.Register && (i.Op1Register.IsDR() || i.Op1Register.IsTR()));

    /// <summary>Debug registers are not modeled: #UD for the kernel, as on the bare machine (after the privilege check).</summary>
    private EmulationResult DebugRegister() => _cpl != 0 ? GeneralProtection() : Fault(Vectors.UD);

    private EmulationResult Clts(in Instruction i) => _cpl != 0 ? GeneralProtection() : WriteCr0(i, _v.Cr0 & ~Cr0Ts);

    /// <summary>lmsw loads PE, MP, EM and TS, and cannot clear PE.</summary>
    private EmulationResult Lmsw(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        if (!TryReadOperand16(i, 0, out uint word, out var fault)) return fault;
        return WriteCr0(i, (_v.Cr0 & ~0xEu) | (word & 0xF) | (_v.Cr0 & Cr0Pe));
    }

    /// <summary>smsw (sensitive): the guest's CR0, whole into a 32-bit register as the CPU does, its low word elsewhere.</summary>
    private EmulationResult Smsw(in Instruction i)
    {
        uint value = i.Op0Kind == OpKind.Register && i.Op0Register.IsGPR32() ? _v.Cr0 : _v.Cr0 & 0xFFFF;
        return TryStoreWordOperand(i, value, out var fault) ? Done(i) : fault;
    }

    private EmulationResult Invlpg(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        Host.PageInvalidated(Linear(i, 0));
        return Done(i);
    }

    /// <summary>rdtsc faults only when the guest set CR4.TSD (the VMM then mirrors TSD so user rdtsc faults too).</summary>
    private EmulationResult Rdtsc(in Instruction i)
    {
        if (_cpl != 0 && (_v.Cr4 & Cr4Tsd) != 0) return GeneralProtection();
        ulong tsc = _cpu.TimeStampCounter;
        (_cpu.Eax, _cpu.Edx) = ((uint)tsc, (uint)(tsc >> 32));
        return Done(i);
    }

    /// <summary>cpuid: what this machine's processor reports (<see cref="CpuIdentity"/>), as the bare CPU would.</summary>
    private EmulationResult Cpuid(in Instruction i)
    {
        (_cpu.Eax, _cpu.Ebx, _cpu.Ecx, _cpu.Edx) = CpuIdentity.Leaf(_cpu.Eax);
        return Done(i);
    }

    private EmulationResult Rdmsr(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        ulong value;
        switch (_cpu.Ecx)
        {
            case MsrTsc: value = _cpu.TimeStampCounter; break;
            case MsrSysenterCs: value = _v.SysenterCs; break;
            case MsrSysenterEsp: value = _v.SysenterEsp; break;
            case MsrSysenterEip: value = _v.SysenterEip; break;
            default: return GeneralProtection();
        }
        (_cpu.Eax, _cpu.Edx) = ((uint)value, (uint)(value >> 32));
        return Done(i);
    }

    /// <summary>wrmsr: the SYSENTER MSRs are the guest's own (the real SYSENTER_CS stays 0 so that sysenter faults).</summary>
    private EmulationResult Wrmsr(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        switch (_cpu.Ecx)
        {
            case MsrSysenterCs: _v.SysenterCs = _cpu.Eax; break;
            case MsrSysenterEsp: _v.SysenterEsp = _cpu.Eax; break;
            case MsrSysenterEip: _v.SysenterEip = _cpu.Eax; break;
            default: return GeneralProtection();
        }
        return Done(i);
    }
}
