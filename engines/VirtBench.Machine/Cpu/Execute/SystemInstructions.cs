using Iced.Intel;
using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// System instructions: hlt, in/out, control registers, descriptor tables (lgdt, lidt, lldt, ltr and their
/// store forms), lmsw/smsw, clts, invlpg, cpuid, rdtsc, rdmsr/wrmsr, sysenter/sysexit, vmcall, ud2,
/// lar/lsl/verr/verw, wbinvd/invd, wait. Privilege checks come first, then VMX exits, as on real hardware.
/// </summary>
internal static unsafe class SystemInstructions
{
    public static bool TryBind(ref Op op, in Instruction i)
    {
        op.EndsBlock = true;
        switch (i.Mnemonic)
        {
            case Mnemonic.Hlt: op.Exec = &Hlt; return true;
            case Mnemonic.In:
                op.Size = (byte)i.Op0Register.GetSize();
                op.Aux = (byte)(i.Op1Kind == OpKind.Register ? 1 : 0); // 1: port in DX
                op.Imm = i.Op1Kind == OpKind.Register ? 0u : i.Immediate8;
                op.Exec = &In;
                return true;
            case Mnemonic.Out:
                op.Size = (byte)i.Op1Register.GetSize();
                op.Aux = (byte)(i.Op0Kind == OpKind.Register ? 1 : 0);
                op.Imm = i.Op0Kind == OpKind.Register ? 0u : i.Immediate8;
                op.Exec = &Out;
                return true;
            case Mnemonic.Mov when i.Op0Register.IsCR():
                op.Aux = (byte)(i.Op0Register - Register.CR0);
                op.R1 = Operands.Index(i.Op1Register);
                op.Exec = &MovToCr;
                return true;
            case Mnemonic.Mov when i.Op1Register.IsCR():
                op.Aux = (byte)(i.Op1Register - Register.CR0);
                op.R0 = Operands.Index(i.Op0Register);
                op.Exec = &MovFromCr;
                return true;
            case Mnemonic.Mov when i.Op0Register.IsDR() || i.Op1Register.IsDR() || i.Op0Register.IsTR() || i.Op1Register.IsTR():
                op.Exec = &DebugRegister;
                return true;
            case Mnemonic.Lgdt or Mnemonic.Lidt:
                op.Aux = (byte)(i.Mnemonic == Mnemonic.Lgdt ? 0 : 1);
                op.Size = (byte)(i.Code is Code.Lgdt_m1632_16 or Code.Lidt_m1632_16 ? 2 : 4);
                op.Exec = &LoadTableRegister;
                return true;
            case Mnemonic.Sgdt or Mnemonic.Sidt:
                op.Aux = (byte)(i.Mnemonic == Mnemonic.Sgdt ? 0 : 1);
                op.Exec = &StoreTableRegister;
                op.EndsBlock = false;
                return true;
            case Mnemonic.Lldt or Mnemonic.Ltr:
                op.Aux = (byte)(i.Mnemonic == Mnemonic.Lldt ? 0 : 1);
                BindRm16(ref op, in i);
                op.Exec = &LoadSystemSegment;
                return true;
            case Mnemonic.Sldt or Mnemonic.Str:
                op.Aux = (byte)(i.Mnemonic == Mnemonic.Sldt ? 0 : 1);
                BindRm16(ref op, in i);
                op.Exec = &StoreSystemSegment;
                op.EndsBlock = false;
                return true;
            case Mnemonic.Lmsw:
                BindRm16(ref op, in i);
                op.Exec = &Lmsw;
                return true;
            case Mnemonic.Smsw:
                BindRm16(ref op, in i);
                op.Exec = &Smsw;
                op.EndsBlock = false;
                return true;
            case Mnemonic.Clts: op.Exec = &Clts; return true;
            case Mnemonic.Invlpg: op.Exec = &Invlpg; return true;
            case Mnemonic.Cpuid: op.Exec = &Cpuid; return true;
            case Mnemonic.Rdtsc: op.Exec = &Rdtsc; return true;
            case Mnemonic.Rdmsr: op.Exec = &Rdmsr; return true;
            case Mnemonic.Wrmsr: op.Exec = &Wrmsr; return true;
            case Mnemonic.Sysenter: op.Exec = &Sysenter; return true;
            case Mnemonic.Sysexit: op.Exec = &Sysexit; return true;
            case Mnemonic.Vmcall: op.Exec = &Vmcall; return true;
            case Mnemonic.Ud2 or Mnemonic.Ud0 or Mnemonic.Ud1: op.Exec = &Undefined; return true;
            case Mnemonic.Wbinvd or Mnemonic.Invd: op.Exec = &PrivilegedNop; return true;
            case Mnemonic.Wait: op.Exec = &Wait; op.EndsBlock = false; return true;
            case Mnemonic.Lar or Mnemonic.Lsl or Mnemonic.Verr or Mnemonic.Verw:
                op.EndsBlock = false;
                op.Aux = (byte)(i.Mnemonic switch { Mnemonic.Lar => 0, Mnemonic.Lsl => 1, Mnemonic.Verr => 2, _ => 3 });
                if (i.Mnemonic is Mnemonic.Lar or Mnemonic.Lsl)
                {
                    op.R0 = Operands.Index(i.Op0Register);
                    op.Size = (byte)i.Op0Register.GetSize();
                    op.Aux |= (byte)(i.Op1Kind == OpKind.Register ? 0x80 : 0);
                    if (i.Op1Kind == OpKind.Register) op.R1 = Operands.Index(i.Op1Register);
                }
                else
                {
                    op.Aux |= (byte)(i.Op0Kind == OpKind.Register ? 0x80 : 0);
                    if (i.Op0Kind == OpKind.Register) op.R1 = Operands.Index(i.Op0Register);
                }
                op.Exec = &DescriptorQuery;
                return true;
            default:
                op.EndsBlock = false;
                return false;
        }
    }

    private static void BindRm16(ref Op op, in Instruction i)
    {
        op.Size = (byte)(i.Op0Kind == OpKind.Register ? i.Op0Register.GetSize() : 2);
        op.Aux |= (byte)(i.Op0Kind == OpKind.Register ? 0x80 : 0);
        if (i.Op0Kind == OpKind.Register) op.R0 = Operands.Index(i.Op0Register);
    }

    /// <summary>Exits to the VMM for the op (VMX non-root); the instruction does not retire.</summary>
    internal static bool Exit(Cpu c, ref Op op, VmExit exit)
    {
        c.Eip = op.Eip;
        c.RetireAhead(op.Position); // the ops before it in the block have retired: the VMM sees exact simulated time
        c.ExitToMonitor(exit with { InstructionLength = (int)(op.NextEip - op.Eip), Instruction = c.InstructionOf(ref op) });
        c.Aborted = true;
        return false;
    }

    private static bool Privileged(Cpu c) => c.Cpl == 0 || c.GeneralProtection(0);

    internal static bool Undefined(Cpu c, ref Op op) => c.InvalidOpcode();

    private static bool PrivilegedNop(Cpu c, ref Op op) => Privileged(c);

    /// <summary>wait/fwait: #NM when CR0.MP and CR0.TS are both set, else nothing (no x87 exception is ever pending).</summary>
    private static bool Wait(Cpu c, ref Op op) => (c.Cr0 & 0xA) != 0xA || c.Fault(Vectors.NM);

    private static bool DebugRegister(Cpu c, ref Op op) => Privileged(c) && c.InvalidOpcode();

    private static bool Hlt(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        if (c.Vmx is { HltExiting: true }) return Exit(c, ref op, new VmExit { Reason = VmExitReason.Hlt });
        c.Halted = true;
        return false;
    }

    // ---- port I/O ----

    private static bool In(Cpu c, ref Op op)
    {
        ushort port = (ushort)(op.Aux == 1 ? c.Regs[2] : op.Imm);
        if (!c.CheckIoPermission(port, op.Size)) return false;
        if (c.Vmx is { } vmx && vmx.IoExits(port, op.Size)) return Exit(c, ref op, IoExit(port, op, input: true));
        uint v = c.Io.Read(port, op.Size);
        if (op.Size == 4) c.Regs[0] = v; else if (op.Size == 2) W16.Set(c, 0, v); else W8.Set(c, 0, v);
        return false;
    }

    private static bool Out(Cpu c, ref Op op)
    {
        ushort port = (ushort)(op.Aux == 1 ? c.Regs[2] : op.Imm);
        if (!c.CheckIoPermission(port, op.Size)) return false;
        if (c.Vmx is { } vmx && vmx.IoExits(port, op.Size)) return Exit(c, ref op, IoExit(port, op, input: false));
        uint mask = op.Size == 4 ? 0xFFFF_FFFF : op.Size == 2 ? 0xFFFFu : 0xFFu;
        c.Io.Write(port, op.Size, c.Regs[0] & mask);
        return false;
    }

    private static VmExit IoExit(ushort port, in Op op, bool input) => new()
    {
        Reason = VmExitReason.IoInstruction,
        Qualification = new IoQualification(port, op.Size, input, ImmediatePort: op.Aux == 0).Encode(),
    };

    // ---- control registers ----

    /// <summary>
    /// mov to CRn. In VMX non-root mode a CR0/CR4 write exits when it would change a VMM-owned bit relative to
    /// the read shadow, before the checks of the value (SDM 25.1.1); otherwise the VMM-owned bits keep their value.
    /// </summary>
    private static bool MovToCr(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        uint value = c.Regs[op.R1];
        var vmx = c.Vmx;
        switch (op.Aux)
        {
            case 0:
                if (vmx is not null)
                {
                    if (((value ^ vmx.Cr0ReadShadow) & vmx.Cr0GuestHostMask) != 0) return Exit(c, ref op, CrExit(0, CrAccessType.MovToCr, op.R1));
                    value = (value & ~vmx.Cr0GuestHostMask) | (c.Cr0 & vmx.Cr0GuestHostMask);
                }
                if ((value & 0x8000_0001) == 0x8000_0000 || (value & 0x6000_0000) == 0x4000_0000) return c.GeneralProtection(0);
                c.SetCr0(value);
                return false;
            case 2:
                c.Cr2 = value;
                return false;
            case 3:
                if (vmx is { Cr3LoadExiting: true }) return Exit(c, ref op, CrExit(3, CrAccessType.MovToCr, op.R1));
                c.SetCr3(value);
                return false;
            case 4:
                if (vmx is not null)
                {
                    if (((value ^ vmx.Cr4ReadShadow) & vmx.Cr4GuestHostMask) != 0) return Exit(c, ref op, CrExit(4, CrAccessType.MovToCr, op.R1));
                    value = (value & ~vmx.Cr4GuestHostMask) | (c.Cr4 & vmx.Cr4GuestHostMask);
                }
                if ((value & ~0x0000_07FFu) != 0) return c.GeneralProtection(0);
                c.SetCr4(value);
                return false;
            default:
                return c.InvalidOpcode();
        }
    }

    /// <summary>mov from CRn; in VMX non-root mode CR0 and CR4 read the shadow for VMM-owned bits.</summary>
    private static bool MovFromCr(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        var vmx = c.Vmx;
        uint value;
        switch (op.Aux)
        {
            case 0: value = vmx is null ? c.Cr0 : vmx.GuestVisibleCr0(c.Cr0); break;
            case 2: value = c.Cr2; break;
            case 3:
                if (vmx is { Cr3StoreExiting: true }) return Exit(c, ref op, CrExit(3, CrAccessType.MovFromCr, op.R0));
                value = c.Cr3;
                break;
            case 4: value = vmx is null ? c.Cr4 : vmx.GuestVisibleCr4(c.Cr4); break;
            default: return c.InvalidOpcode();
        }
        c.Regs[op.R0] = value;
        return false;
    }

    private static VmExit CrExit(int cr, CrAccessType access, int reg, bool lmswFromMemory = false, uint lmswSource = 0) => new()
    {
        Reason = VmExitReason.ControlRegisterAccess,
        Qualification = new CrAccessQualification(cr, access, (Reg)reg, lmswFromMemory, (ushort)lmswSource).Encode(),
    };

    /// <summary>
    /// lmsw loads PE, MP, EM and TS, and cannot clear PE. In VMX non-root mode it exits when it would change a
    /// VMM-owned bit among them relative to the read shadow, or set PE against a shadow PE of 0 (SDM 25.1.3).
    /// </summary>
    private static bool Lmsw(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        uint v;
        bool fromMemory = (op.Aux & 0x80) == 0;
        if (!fromMemory) v = c.Regs[op.R0];
        else if (!c.Read16(op.Seg, op.Ea(c), out v)) return false;
        uint loaded = (v & 0xF) | (c.Cr0 & 1);
        var vmx = c.Vmx;
        if (vmx is not null)
        {
            uint mask = vmx.Cr0GuestHostMask & 0xF, shadow = vmx.Cr0ReadShadow & 0xF;
            if (((v ^ shadow) & mask & 0xE) != 0 || ((mask & 1) != 0 && (shadow & 1) == 0 && (v & 1) != 0))
                return Exit(c, ref op, CrExit(0, CrAccessType.Lmsw, 0, fromMemory, v & 0xFFFF));
            loaded = (loaded & ~mask) | (c.Cr0 & mask);
        }
        c.SetCr0((c.Cr0 & ~0xFu) | loaded);
        return false;
    }

    private static bool Smsw(Cpu c, ref Op op)
    {
        if (!c.Sensitive(ref op)) return false;
        var vmx = c.Vmx;
        uint cr0 = vmx is null ? c.Cr0 : vmx.GuestVisibleCr0(c.Cr0);
        if ((op.Aux & 0x80) == 0) return c.Write16(op.Seg, op.Ea(c), cr0);
        if (op.Size == 4) c.Regs[op.R0] = cr0; else W16.Set(c, op.R0, cr0);
        return true;
    }

    /// <summary>clts; in VMX non-root mode it exits when TS is VMM-owned and set in the read shadow, and leaves a VMM-owned TS alone otherwise.</summary>
    private static bool Clts(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        var vmx = c.Vmx;
        bool vmmOwned = vmx is not null && (vmx.Cr0GuestHostMask & 8) != 0;
        if (vmmOwned && (vmx!.Cr0ReadShadow & 8) != 0) return Exit(c, ref op, CrExit(0, CrAccessType.Clts, 0));
        if (!vmmOwned) c.SetCr0(c.Cr0 & ~8u);
        return false;
    }

    // ---- descriptor tables ----

    private static bool LoadTableRegister(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        uint ea = op.Ea(c);
        if (!c.Read16(op.Seg, ea, out uint limit) || !c.Read32(op.Seg, ea + 2, out uint baseAddr)) return false;
        if (op.Size == 2) baseAddr &= 0x00FF_FFFF;
        var value = new DescriptorTableRegister(baseAddr, (ushort)limit);
        if (op.Aux == 0) c.Gdtr = value; else c.Idtr = value;
        return false;
    }

    private static bool StoreTableRegister(Cpu c, ref Op op)
    {
        if (!c.Sensitive(ref op)) return false;
        var value = op.Aux == 0 ? c.Gdtr : c.Idtr;
        uint ea = op.Ea(c);
        // Check both parts before writing either, so a fault leaves memory unchanged.
        if (!c.BeginRmw(op.Seg, ea, 2, out _, out _) || !c.BeginRmw(op.Seg, ea + 2, 4, out _, out _)) return false;
        return c.Write16(op.Seg, ea, value.Limit) && c.Write32(op.Seg, ea + 2, value.Base);
    }

    private static bool LoadSystemSegment(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        uint sel;
        if ((op.Aux & 0x80) != 0) sel = c.Regs[op.R0];
        else if (!c.Read16(op.Seg, op.Ea(c), out sel)) return false;
        return ((op.Aux & 1) == 0 ? c.LoadLdt((ushort)sel) : c.LoadTaskRegister((ushort)sel)) && false;
    }

    private static bool StoreSystemSegment(Cpu c, ref Op op)
    {
        if (!c.Sensitive(ref op)) return false;
        uint sel = (op.Aux & 1) == 0 ? c.Ldtr.Selector : c.Tr.Selector;
        if ((op.Aux & 0x80) == 0) return c.Write16(op.Seg, op.Ea(c), sel);
        if (op.Size == 4) c.Regs[op.R0] = sel; else W16.Set(c, op.R0, sel);
        return true;
    }

    private static bool Invlpg(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        uint linear = c.Segs[op.Seg].Base + op.Ea(c);
        if (c.Vmx is { InvlpgExiting: true }) return Exit(c, ref op, new VmExit { Reason = VmExitReason.Invlpg, Qualification = linear });
        c.Mmu.FlushPage(linear);
        return false;
    }

    // ---- identification, time, MSRs ----

    private static bool Cpuid(Cpu c, ref Op op)
    {
        if (c.Vmx is not null) return Exit(c, ref op, new VmExit { Reason = VmExitReason.Cpuid });
        (c.Regs[0], c.Regs[3], c.Regs[1], c.Regs[2]) = CpuIdentity.Leaf(c.Regs[0]);
        return false;
    }

    private static bool Rdtsc(Cpu c, ref Op op)
    {
        if ((c.Cr4 & 4) != 0 && c.Cpl != 0) return c.GeneralProtection(0); // CR4.TSD
        if (c.Vmx is { RdtscExiting: true }) return Exit(c, ref op, new VmExit { Reason = VmExitReason.Rdtsc });
        ulong tsc = c.TimeStampCounter + op.Position; // Ticks advance at block ends: add the ops before this one
        c.Regs[0] = (uint)tsc;
        c.Regs[2] = (uint)(tsc >> 32);
        return false;
    }

    private static bool Rdmsr(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        uint msr = c.Regs[1];
        if (c.Vmx is { } vmx && vmx.MsrExits(msr, write: false)) return Exit(c, ref op, new VmExit { Reason = VmExitReason.Rdmsr });
        ulong value;
        switch (msr)
        {
            case Msrs.Tsc: value = c.TimeStampCounter + op.Position; break;
            case Msrs.SysenterCs: value = c.SysenterCs; break;
            case Msrs.SysenterEsp: value = c.SysenterEsp; break;
            case Msrs.SysenterEip: value = c.SysenterEip; break;
            default: return c.GeneralProtection(0);
        }
        c.Regs[0] = (uint)value;
        c.Regs[2] = (uint)(value >> 32);
        return false;
    }

    private static bool Wrmsr(Cpu c, ref Op op)
    {
        if (!Privileged(c)) return false;
        uint msr = c.Regs[1];
        if (c.Vmx is { } vmx && vmx.MsrExits(msr, write: true)) return Exit(c, ref op, new VmExit { Reason = VmExitReason.Wrmsr });
        switch (msr)
        {
            case Msrs.SysenterCs: c.SysenterCs = c.Regs[0]; break;
            case Msrs.SysenterEsp: c.SysenterEsp = c.Regs[0]; break;
            case Msrs.SysenterEip: c.SysenterEip = c.Regs[0]; break;
            default: return c.GeneralProtection(0);
        }
        return false;
    }

    private static bool Sysenter(Cpu c, ref Op op) => c.SysEnter() && false;

    private static bool Sysexit(Cpu c, ref Op op) => c.SysExit() && false;

    private static bool Vmcall(Cpu c, ref Op op) =>
        c.Vmx is not null ? Exit(c, ref op, new VmExit { Reason = VmExitReason.Vmcall }) : c.InvalidOpcode();

    // ---- lar, lsl, verr, verw ----

    private static bool DescriptorQuery(Cpu c, ref Op op)
    {
        if (!c.Sensitive(ref op)) return false;
        uint sel;
        if ((op.Aux & 0x80) != 0) sel = c.Regs[op.R1] & 0xFFFF;
        else if (!c.Read16(op.Seg, op.Ea(c), out sel)) return false;
        int kind = op.Aux & 3;
        bool valid = c.QueryDescriptor((ushort)sel, kind, out uint result, out bool faulted);
        if (faulted) return false;
        uint flags = c.Lazy.Materialize();
        c.Lazy.SetKnown(valid ? flags | (uint)FlagBits.ZF : flags & ~(uint)FlagBits.ZF);
        if (valid && kind < 2)
        {
            if (op.Size == 4) c.Regs[op.R0] = result; else W16.Set(c, op.R0, result);
        }
        return true;
    }
}
