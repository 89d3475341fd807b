using VirtBench.Machine.Cpu;

namespace VirtBench.Machine.Monitor;

/// <summary>
/// A virtual-machine control structure: the guest state, the VM-execution, exit and entry controls, and the
/// exit information of one virtual CPU (DESIGN.md section 4). A VMM reads and writes it field by field with
/// <see cref="Read"/> and <see cref="Write"/>, the VMREAD and VMWRITE instructions, and each access is counted
/// (<see cref="Event.VmcsRead"/>, <see cref="Event.VmcsWrite"/>) because on real hardware each one costs.
/// </summary>
/// <remarks>
/// The guest-state fields are the CPU's own registers (this machine keeps the guest's state in the CPU while the
/// VMM runs, so a field is a view, not a copy); the other fields are stored here. The CPU consults the controls
/// without counting, as a processor consults its cached VMCS. Launch a guest with <see cref="Cpu.Cpu.Launch"/>.
/// </remarks>
public sealed class Vmcs
{
    private const uint Cr0Pe = 1, Cr0Ne = 0x20, Cr0Pg = 0x8000_0000;

    private readonly Cpu.Cpu _cpu;
    private readonly Memory.PhysicalMemory _memory;
    private readonly ulong[] _counts;

    private uint _pin, _processor, _secondary, _exitControls;
    private uint _ioBitmapA, _ioBitmapB, _msrBitmap, _eptPointer;
    private uint _entryInterruption, _entryErrorCode, _entryInstructionLength;

    /// <summary>A VMCS for the guest that runs on <paramref name="cpu"/>; every control starts clear.</summary>
    public Vmcs(Cpu.Cpu cpu)
    {
        _cpu = cpu;
        _memory = cpu.Memory;
        _counts = cpu.Counts;
    }

    /// <summary>VMREAD: reads a field (counted as <see cref="Event.VmcsRead"/>).</summary>
    public uint Read(VmcsField field)
    {
        _counts[(int)Event.VmcsRead]++;
        return Inspect(field);
    }

    /// <summary>
    /// VMWRITE: writes a field (counted as <see cref="Event.VmcsWrite"/>). Writing a guest-state field changes
    /// the CPU's register (CR3 repoints the MMU, a CS selector sets the CPL); the exit-information fields are
    /// read-only (<see cref="InvalidOperationException"/>, a VMM bug).
    /// </summary>
    public void Write(VmcsField field, uint value)
    {
        _counts[(int)Event.VmcsWrite]++;
        Store(field, value);
    }

    /// <summary>Reads a field without counting it: for tests and diagnostics, never for a VMM's exit handling.</summary>
    public uint Inspect(VmcsField field)
    {
        if (SegmentField(field) is var (group, index))
        {
            var s = SegmentAt(index);
            return group switch
            {
                SegmentPart.Selector => s.Selector,
                SegmentPart.Base => s.Base,
                SegmentPart.Limit => s.Limit,
                _ => s.Usable ? s.Rights : Unusable,
            };
        }
        return field switch
        {
            VmcsField.GuestGdtrBase => _cpu.Gdtr.Base,
            VmcsField.GuestGdtrLimit => _cpu.Gdtr.Limit,
            VmcsField.GuestIdtrBase => _cpu.Idtr.Base,
            VmcsField.GuestIdtrLimit => _cpu.Idtr.Limit,
            VmcsField.GuestCr0 => _cpu.Cr0,
            VmcsField.GuestCr3 => _cpu.Cr3,
            VmcsField.GuestCr4 => _cpu.Cr4,
            VmcsField.GuestRsp => _cpu.Esp,
            VmcsField.GuestRip => _cpu.Eip,
            VmcsField.GuestRflags => _cpu.Eflags,
            VmcsField.GuestSysenterCs => _cpu.SysenterCs,
            VmcsField.GuestSysenterEsp => _cpu.SysenterEsp,
            VmcsField.GuestSysenterEip => _cpu.SysenterEip,
            VmcsField.GuestInterruptibility => (uint)Interruptibility,
            VmcsField.GuestActivityState => (uint)(_cpu.Halted ? GuestActivityState.Hlt : GuestActivityState.Active),
            VmcsField.PinBasedControls => _pin,
            VmcsField.ProcessorBasedControls => _processor,
            VmcsField.SecondaryControls => _secondary,
            VmcsField.ExitControls => _exitControls,
            VmcsField.ExceptionBitmap => ExceptionBitmap,
            VmcsField.PageFaultErrorCodeMask => PageFaultErrorCodeMask,
            VmcsField.PageFaultErrorCodeMatch => PageFaultErrorCodeMatch,
            VmcsField.Cr0GuestHostMask => Cr0GuestHostMask,
            VmcsField.Cr0ReadShadow => Cr0ReadShadow,
            VmcsField.Cr4GuestHostMask => Cr4GuestHostMask,
            VmcsField.Cr4ReadShadow => Cr4ReadShadow,
            VmcsField.IoBitmapA => _ioBitmapA,
            VmcsField.IoBitmapB => _ioBitmapB,
            VmcsField.MsrBitmap => _msrBitmap,
            VmcsField.EptPointer => _eptPointer,
            VmcsField.EntryInterruptionInfo => _entryInterruption,
            VmcsField.EntryExceptionErrorCode => _entryErrorCode,
            VmcsField.EntryInstructionLength => _entryInstructionLength,
            VmcsField.ExitReason => (uint)LastExit.Reason,
            VmcsField.ExitQualification => LastExit.Qualification,
            VmcsField.ExitInstructionLength => (uint)LastExit.InstructionLength,
            VmcsField.ExitInstructionInfo => LastExit.InstructionInfo,
            VmcsField.ExitInterruptionInfo => LastExit.Interruption.Encode(),
            VmcsField.ExitInterruptionErrorCode => LastExit.InterruptionErrorCode,
            VmcsField.IdtVectoringInfo => LastExit.IdtVectoring.Encode(),
            VmcsField.IdtVectoringErrorCode => LastExit.IdtVectoringErrorCode,
            VmcsField.GuestLinearAddress => LastExit.GuestLinearAddress,
            VmcsField.GuestPhysicalAddress => LastExit.GuestPhysicalAddress,
            _ => throw new ArgumentOutOfRangeException(nameof(field), field, "not a VMCS field of this machine"),
        };
    }

    private void Store(VmcsField field, uint value)
    {
        if (SegmentField(field) is var (group, index))
        {
            var s = SegmentAt(index);
            switch (group)
            {
                case SegmentPart.Selector: s.Selector = (ushort)value; break;
                case SegmentPart.Base: s.Base = value; break;
                case SegmentPart.Limit: s.Limit = value; break;
                default: s.Rights = (value & Unusable) != 0 ? (ushort)0 : (ushort)(value & 0xF0FF); break;
            }
            SetSegmentAt(index, s);
            return;
        }
        switch (field)
        {
            case VmcsField.GuestGdtrBase: _cpu.Gdtr.Base = value; break;
            case VmcsField.GuestGdtrLimit: _cpu.Gdtr.Limit = (ushort)value; break;
            case VmcsField.GuestIdtrBase: _cpu.Idtr.Base = value; break;
            case VmcsField.GuestIdtrLimit: _cpu.Idtr.Limit = (ushort)value; break;
            case VmcsField.GuestCr0: _cpu.SetCr0(value); break;
            case VmcsField.GuestCr3: _cpu.SetCr3(value); break;
            case VmcsField.GuestCr4: _cpu.SetCr4(value); break;
            case VmcsField.GuestRsp: _cpu.Esp = value; break;
            case VmcsField.GuestRip: _cpu.Eip = value; break;
            case VmcsField.GuestRflags: _cpu.Eflags = value; break;
            case VmcsField.GuestSysenterCs: _cpu.SysenterCs = value; break;
            case VmcsField.GuestSysenterEsp: _cpu.SysenterEsp = value; break;
            case VmcsField.GuestSysenterEip: _cpu.SysenterEip = value; break;
            case VmcsField.GuestInterruptibility: Interruptibility = (GuestInterruptibility)(value & 3); break;
            case VmcsField.GuestActivityState: _cpu.Halted = value == (uint)GuestActivityState.Hlt; break;
            case VmcsField.PinBasedControls: _pin = value; break;
            case VmcsField.ProcessorBasedControls: _processor = value; break;
            case VmcsField.SecondaryControls: _secondary = value; break;
            case VmcsField.ExitControls: _exitControls = value; break;
            case VmcsField.ExceptionBitmap: ExceptionBitmap = value; break;
            case VmcsField.PageFaultErrorCodeMask: PageFaultErrorCodeMask = value; break;
            case VmcsField.PageFaultErrorCodeMatch: PageFaultErrorCodeMatch = value; break;
            case VmcsField.Cr0GuestHostMask: Cr0GuestHostMask = value; break;
            case VmcsField.Cr0ReadShadow: Cr0ReadShadow = value; break;
            case VmcsField.Cr4GuestHostMask: Cr4GuestHostMask = value; break;
            case VmcsField.Cr4ReadShadow: Cr4ReadShadow = value; break;
            case VmcsField.IoBitmapA: _ioBitmapA = value; break;
            case VmcsField.IoBitmapB: _ioBitmapB = value; break;
            case VmcsField.MsrBitmap: _msrBitmap = value; break;
            case VmcsField.EptPointer: _eptPointer = value; break;
            case VmcsField.EntryInterruptionInfo: _entryInterruption = value; break;
            case VmcsField.EntryExceptionErrorCode: _entryErrorCode = value; break;
            case VmcsField.EntryInstructionLength: _entryInstructionLength = value; break;
            default: throw new InvalidOperationException($"VMWRITE to the read-only VMCS field {field}");
        }
    }

    // ---- Guest segment registers: selector, base, limit and access rights of ES, CS, SS, DS, FS, GS, LDTR, TR ----

    private const uint Unusable = 1u << 16;

    private enum SegmentPart { Selector, Base, Limit, AccessRights }

    /// <summary>Which part of which segment register (0-5: ES..GS in <see cref="SegReg"/> order, 6: LDTR, 7: TR) a field is.</summary>
    private static (SegmentPart, int)? SegmentField(VmcsField field)
    {
        uint f = (uint)field;
        if (f is >= 0x0800 and <= 0x080E) return (SegmentPart.Selector, (int)(f - 0x0800) / 2);
        if (f is >= 0x4800 and <= 0x480E) return (SegmentPart.Limit, (int)(f - 0x4800) / 2);
        if (f is >= 0x4814 and <= 0x4822) return (SegmentPart.AccessRights, (int)(f - 0x4814) / 2);
        if (f is >= 0x6806 and <= 0x6814) return (SegmentPart.Base, (int)(f - 0x6806) / 2);
        return null;
    }

    private Segment SegmentAt(int index) => index switch
    {
        6 => _cpu.Ldtr,
        7 => _cpu.Tr,
        _ => _cpu.Segment((SegReg)index),
    };

    private void SetSegmentAt(int index, Segment s)
    {
        s.UpdateFastLimits();
        if (index == 6) _cpu.Ldtr = s;
        else if (index == 7) _cpu.Tr = s;
        else _cpu.LoadSegmentCache((SegReg)index, s);
    }

    // ---- What the CPU consults (uncounted) ----

    internal GuestInterruptibility Interruptibility;
    internal VmExit LastExit;
    internal uint ExceptionBitmap, PageFaultErrorCodeMask, PageFaultErrorCodeMatch;
    internal uint Cr0GuestHostMask, Cr0ReadShadow, Cr4GuestHostMask, Cr4ReadShadow;

    internal bool ExternalInterruptExiting => (_pin & (uint)PinBasedControls.ExternalInterruptExiting) != 0;
    internal bool InterruptWindowExiting => Has(ProcessorBasedControls.InterruptWindowExiting);
    internal bool HltExiting => Has(ProcessorBasedControls.HltExiting);
    internal bool InvlpgExiting => Has(ProcessorBasedControls.InvlpgExiting);
    internal bool RdtscExiting => Has(ProcessorBasedControls.RdtscExiting);
    internal bool Cr3LoadExiting => Has(ProcessorBasedControls.Cr3LoadExiting);
    internal bool Cr3StoreExiting => Has(ProcessorBasedControls.Cr3StoreExiting);
    internal bool AcknowledgeInterruptOnExit => (_exitControls & (uint)ExitControls.AcknowledgeInterruptOnExit) != 0;
    internal bool EptEnabled => HasSecondary(SecondaryControls.EnableEpt);
    internal bool VpidEnabled => HasSecondary(SecondaryControls.EnableVpid);
    internal bool UnrestrictedGuest => HasSecondary(SecondaryControls.UnrestrictedGuest);

    /// <summary>The nested page directory the MMU walks in this guest, or null without EPT.</summary>
    internal uint? NestedRoot => EptEnabled ? _eptPointer & ~0xFFFu : null;

    private bool Has(ProcessorBasedControls c) => (_processor & (uint)c) != 0;

    private bool HasSecondary(SecondaryControls c) =>
        Has(ProcessorBasedControls.ActivateSecondaryControls) && (_secondary & (uint)c) != 0;

    /// <summary>True if an access of <paramref name="size"/> bytes at <paramref name="port"/> exits (SDM 25.1.3).</summary>
    internal bool IoExits(ushort port, int size)
    {
        if (!Has(ProcessorBasedControls.UseIoBitmaps)) return Has(ProcessorBasedControls.UnconditionalIoExiting);
        if (port + size > 0x10000) return true; // an access that wraps around the port space always exits
        for (int p = port; p < port + size; p++)
        {
            uint bitmap = p < 0x8000 ? _ioBitmapA : _ioBitmapB;
            if (Bit(bitmap, (uint)p & 0x7FFF)) return true;
        }
        return false;
    }

    /// <summary>True if rdmsr (or wrmsr) of this MSR exits: the MSR bitmap's read-low, read-high, write-low, write-high quarters.</summary>
    internal bool MsrExits(uint msr, bool write)
    {
        if (!Has(ProcessorBasedControls.UseMsrBitmaps)) return true;
        uint quarter;
        if (msr <= 0x1FFF) quarter = write ? 2048u : 0;
        else if (msr - 0xC000_0000 <= 0x1FFF) { quarter = write ? 3072u : 1024; msr -= 0xC000_0000; }
        else return true;
        return Bit(_msrBitmap + quarter, msr);
    }

    /// <summary>True if an exception exits: its bit in the bitmap, and for #PF the error-code mask and match (SDM 25.2).</summary>
    internal bool ExceptionExits(int vector, uint? errorCode)
    {
        if (vector >= 32) return false;
        bool bit = (ExceptionBitmap & (1u << vector)) != 0;
        if (vector != Vectors.PF) return bit;
        bool matches = ((errorCode ?? 0) & PageFaultErrorCodeMask) == PageFaultErrorCodeMatch;
        return matches ? bit : !bit;
    }

    /// <summary>What the guest reads from CR0 (its own bits, and the read shadow's for the VMM-owned ones).</summary>
    internal uint GuestVisibleCr0(uint cr0) => (cr0 & ~Cr0GuestHostMask) | (Cr0ReadShadow & Cr0GuestHostMask);

    /// <summary>What the guest reads from CR4.</summary>
    internal uint GuestVisibleCr4(uint cr4) => (cr4 & ~Cr4GuestHostMask) | (Cr4ReadShadow & Cr4GuestHostMask);

    // ---- VM exits and entries (called by the CPU) ----

    /// <summary>Stores a VM exit's information; the VM-entry interruption information is invalidated, as on every exit.</summary>
    internal void RecordExit(in VmExit exit, GuestInterruptibility blocking)
    {
        LastExit = exit;
        Interruptibility = blocking;
        _entryInterruption &= ~0x8000_0000u;
    }

    /// <summary>Takes the event to inject on this VM entry, if the VMM wrote one (its valid bit is then cleared).</summary>
    internal bool TakeInjection(out InterruptionInfo info, out uint errorCode, out int instructionLength)
    {
        info = InterruptionInfo.Decode(_entryInterruption);
        errorCode = _entryErrorCode;
        instructionLength = (int)_entryInstructionLength;
        _entryInterruption &= ~0x8000_0000u;
        return info.Valid;
    }

    /// <summary>
    /// The VM-entry checks this machine makes on the guest state and the event to inject (SDM 26.3.1, 26.2.1.3);
    /// null when they pass, else why the entry fails.
    /// </summary>
    internal string? CheckEntry()
    {
        uint cr0 = _cpu.Cr0;
        if (UnrestrictedGuest && !EptEnabled) return "unrestricted guest requires EPT";
        if ((cr0 & Cr0Ne) == 0) return $"guest CR0 0x{cr0:x8} has NE clear (a fixed-1 bit in VMX operation)";
        if (!UnrestrictedGuest && (cr0 & (Cr0Pe | Cr0Pg)) != (Cr0Pe | Cr0Pg))
            return $"guest CR0 0x{cr0:x8} has PE or PG clear, which needs the unrestricted-guest control";
        if ((cr0 & (Cr0Pe | Cr0Pg)) == Cr0Pg) return $"guest CR0 0x{cr0:x8} sets PG without PE";
        var inject = InterruptionInfo.Decode(_entryInterruption);
        if (!inject.Valid) return null;
        switch (inject.Type)
        {
            case InterruptionType.ExternalInterrupt when !_cpu.InterruptsEnabled || Interruptibility != GuestInterruptibility.None:
                return $"injecting external interrupt vector {inject.Vector} while the guest blocks interrupts (IF = {(_cpu.InterruptsEnabled ? 1 : 0)}, interruptibility {Interruptibility})";
            case InterruptionType.HardwareException when inject.Vector >= 32 || inject.DeliversErrorCode != Vectors.HasErrorCode(inject.Vector):
                return $"injecting hardware exception vector {inject.Vector} with the error-code bit {(inject.DeliversErrorCode ? "set" : "clear")}";
            case InterruptionType.SoftwareInterrupt or InterruptionType.SoftwareException when _entryInstructionLength is 0 or > 15:
                return $"injecting a software event with instruction length {_entryInstructionLength}";
            case InterruptionType.Nmi:
                return "injecting an NMI on a machine without NMIs";
        }
        return null;
    }

    /// <summary>A bit of a bitmap in physical memory (the I/O and MSR bitmaps live in the VMM's memory).</summary>
    private bool Bit(uint table, uint index) => (_memory.Read8(table + index / 8) & (1 << (int)(index & 7))) != 0;
}
