using Iced.Intel;
using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Vmm;

// Control transfers that load CS: iret (to the guest kernel or user mode), sysenter and sysexit, and far jmp, call
// and ret within the guest's ring. The guest's checks run against its own descriptors; the real segments come from
// the VMM's GDT for its ring.
public sealed partial class InstructionEmulator
{
    private EmulationResult InterruptReturn(in Instruction i)
    {
        int size = i.Mnemonic == Mnemonic.Iretd ? 4 : 2;
        if ((_cpu.Eflags & (uint)FlagBits.NT) != 0) return GeneralProtection(); // task returns are not modeled
        if (!TryPeek(0, size, out uint eip, out var fault) || !TryPeek((uint)size, size, out uint csValue, out fault) ||
            !TryPeek(2u * (uint)size, size, out uint flags, out fault)) return fault;
        ushort cs = (ushort)csValue;
        int rpl = cs & 3;
        if (rpl < _cpl) return GeneralProtection(cs & 0xFFFCu);
        if (!TryCheckCodeSegment(cs, rpl, out var code, out fault)) return fault;
        if (size == 2) flags = (_v.GuestFlags(_cpu.Eflags) & 0xFFFF_0000) | (flags & 0xFFFF);
        if (eip > code.Limit) return GeneralProtection();
        if (rpl == _cpl)
        {
            if (!TryDescribeReal(cs, out var realCs)) return GeneralProtection(cs & 0xFFFCu);
            AdjustStack(3 * size);
            bool enabled = LoadFlags(flags, size);
            _cpu.LoadSegmentCache(SegReg.Cs, realCs);
            return FinishFlagsLoad(i, eip, enabled);
        }

        // To an outer ring: SS:ESP come from the frame too.
        if (!TryPeek(3u * (uint)size, size, out uint esp, out fault) || !TryPeek(4u * (uint)size, size, out uint ssValue, out fault)) return fault;
        ushort ss = (ushort)ssValue;
        if ((ss & 0xFFFC) == 0) return GeneralProtection();
        if (!TryReadDescriptor(ss, out uint low, out uint high, out fault)) return fault;
        var stack = Segment.FromDescriptor(ss, low, high);
        if ((ss & 3) != rpl || stack.Dpl != rpl || !stack.IsWritable) return GeneralProtection(ss & 0xFFFCu);
        if (!stack.Present) return Fault(Vectors.SS, ss & 0xFFFCu);
        if (!TryDescribeReal(cs, out var realCode) || !TryDescribeReal(ss, out var realStack)) return GeneralProtection(cs & 0xFFFCu);
        bool interruptsEnabled = LoadFlags(flags, size);
        _cpu.LoadSegmentCache(SegReg.Cs, realCode);
        _cpu.LoadSegmentCache(SegReg.Ss, realStack);
        _cpu.Esp = size == 4 ? esp : (_cpu.Esp & 0xFFFF_0000) | (ushort)esp;
        NullOuterDataSegments(GuestRings.RealRing(rpl));
        return FinishFlagsLoad(i, eip, interruptsEnabled);
    }

    /// <summary>
    /// After a return to the outer real ring <paramref name="ring"/>, data segments that ring may not use become null
    /// (as the CPU does). The ring is passed in: executing translated code, the CPU's CPL does not follow CS loads.
    /// </summary>
    private void NullOuterDataSegments(int ring)
    {
        foreach (var r in (ReadOnlySpan<SegReg>)[SegReg.Es, SegReg.Ds, SegReg.Fs, SegReg.Gs])
        {
            var s = _cpu.Segment(r);
            if (s.Usable && (!s.IsCode || !s.IsConforming) && s.Dpl < ring) _cpu.LoadSegmentCache(r, Segment.Null(0));
        }
    }

    /// <summary>jmp far (ptr16:32 or m16:32) to a code segment of the guest's own ring.</summary>
    private EmulationResult FarJump(in Instruction i)
    {
        if (!TryFarPointer(i, out uint offset, out ushort selector, out var fault)) return fault;
        return TryEnterCodeSegment(selector, offset, out fault) ? Continue(i, offset) : fault;
    }

    /// <summary>call far within the guest's ring: pushes its CS (as the guest sees it) and the return EIP, then jumps.</summary>
    private EmulationResult FarCall(in Instruction i)
    {
        if (!TryFarPointer(i, out uint offset, out ushort selector, out var fault)) return fault;
        int size = i.Op0Kind is OpKind.FarBranch16 || i.MemorySize == MemorySize.SegPtr16 ? 2 : 4;
        uint esp = _cpu.Esp;
        uint cs = GuestRings.GuestSelector(_cpu.Segment(SegReg.Cs).Selector);
        if (!TryPush(cs, size, out fault) || !TryPush((uint)i.NextIP, size, out fault)) { _cpu.Esp = esp; return fault; }
        if (TryEnterCodeSegment(selector, offset, out fault)) return Continue(i, offset);
        _cpu.Esp = esp;
        return fault;
    }

    /// <summary>ret far to the guest's own ring (a return to an outer ring is not modeled: #GP).</summary>
    private EmulationResult FarReturn(in Instruction i)
    {
        int size = i.Code is Code.Retfd or Code.Retfd_imm16 ? 4 : 2;
        if (!TryPeek(0, size, out uint offset, out var fault) || !TryPeek((uint)size, size, out uint cs, out fault)) return fault;
        if ((cs & 3) != _cpl) return GeneralProtection(cs & 0xFFFC);
        if (!TryEnterCodeSegment((ushort)cs, offset, out fault)) return fault;
        AdjustStack(2 * size + (i.OpCount > 0 ? i.Immediate16 : 0));
        return Continue(i, offset);
    }

    /// <summary>The far pointer of a jmp or call: immediate, or offset then selector in memory.</summary>
    private bool TryFarPointer(in Instruction i, out uint offset, out ushort selector, out EmulationResult fault)
    {
        fault = default;
        switch (i.Op0Kind)
        {
            case OpKind.FarBranch32: (offset, selector) = (i.FarBranch32, i.FarBranchSelector); return true;
            case OpKind.FarBranch16: (offset, selector) = (i.FarBranch16, i.FarBranchSelector); return true;
        }
        (offset, selector) = (0, 0);
        int size = i.MemorySize == MemorySize.SegPtr32 ? 4 : 2;
        uint at = Linear(i, 0);
        if (!TryRead(at, size, out offset, out fault) || !TryRead(at + (uint)size, 2, out uint value, out fault)) return false;
        selector = (ushort)value;
        return true;
    }

    /// <summary>
    /// Loads CS for a far transfer within the guest's ring: the guest's checks of a code segment (conforming: DPL at
    /// most its ring; otherwise RPL at most and DPL equal to it), present, the offset within the limit; CS gets the
    /// guest's ring as RPL. Gates and task switches are not modeled (#GP).
    /// </summary>
    private bool TryEnterCodeSegment(ushort selector, uint offset, out EmulationResult fault)
    {
        fault = default;
        uint error = selector & 0xFFFCu;
        if (error == 0) { fault = GeneralProtection(); return false; }
        if (!TryReadDescriptor(selector, out uint low, out uint high, out fault)) return false;
        var code = Segment.FromDescriptor(selector, low, high);
        bool allowed = code.IsCode && (code.IsConforming ? code.Dpl <= _cpl : (selector & 3) <= _cpl && code.Dpl == _cpl);
        if (!allowed) { fault = GeneralProtection(error); return false; }
        if (!code.Present) { fault = Fault(Vectors.NP, error); return false; }
        if (offset > code.Limit) { fault = GeneralProtection(); return false; }
        if (!TryDescribeReal((ushort)(error | (uint)_cpl), out var real)) { fault = GeneralProtection(error); return false; }
        _cpu.LoadSegmentCache(SegReg.Cs, real);
        return true;
    }

    /// <summary>sysenter (the real one faults: real SYSENTER_CS is 0): into the guest's own entry point, interrupts off.</summary>
    private EmulationResult SysEnter(in Instruction i)
    {
        uint cs = _v.SysenterCs & 0xFFFC;
        if (cs == 0) return GeneralProtection();
        if (!TryDescribeReal((ushort)cs, out var code) || !TryDescribeReal((ushort)(cs + 8), out var stack)) return GeneralProtection();
        _cpu.LoadSegmentCache(SegReg.Cs, code);
        _cpu.LoadSegmentCache(SegReg.Ss, stack);
        _cpu.Esp = _v.SysenterEsp;
        _cpu.Eflags &= ~(uint)(FlagBits.VM | FlagBits.RF);
        _v.InterruptFlag = false;
        return Continue(i, _v.SysenterEip);
    }

    /// <summary>sysexit (faults at ring 1): to the guest's user code and stack selectors, ESP = ECX, EIP = EDX.</summary>
    private EmulationResult SysExit(in Instruction i)
    {
        uint cs = _v.SysenterCs & 0xFFFC;
        if (_cpl != 0 || cs == 0) return GeneralProtection();
        if (!TryDescribeReal((ushort)((cs + 16) | 3), out var code) || !TryDescribeReal((ushort)((cs + 24) | 3), out var stack)) return GeneralProtection();
        _cpu.LoadSegmentCache(SegReg.Cs, code);
        _cpu.LoadSegmentCache(SegReg.Ss, stack);
        _cpu.Esp = _cpu.Ecx;
        return Continue(i, _cpu.Edx);
    }

    /// <summary>The guest's checks of a code segment for a return to ring <paramref name="rpl"/>.</summary>
    private bool TryCheckCodeSegment(ushort selector, int rpl, out Segment code, out EmulationResult fault)
    {
        code = default;
        uint error = selector & 0xFFFCu;
        if (error == 0) { fault = GeneralProtection(); return false; }
        if (!TryReadDescriptor(selector, out uint low, out uint high, out fault)) return false;
        code = Segment.FromDescriptor(selector, low, high);
        if (!code.IsCode || (code.IsConforming ? code.Dpl > rpl : code.Dpl != rpl)) { fault = GeneralProtection(error); return false; }
        if (!code.Present) { fault = Fault(Vectors.NP, error); return false; }
        return true;
    }

    /// <summary>The real segment cache for a guest selector at its guest ring (from the VMM's GDT), with the real RPL.</summary>
    private bool TryDescribeReal(ushort guestSelector, out Segment segment)
    {
        ushort real = GuestRings.RealSelector(guestSelector);
        if (!_cpu.TryDescribe(real, out segment)) return false;
        segment.Selector = real;
        return true;
    }
}
