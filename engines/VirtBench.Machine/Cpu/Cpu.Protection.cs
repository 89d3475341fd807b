using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu;

// Protection: descriptors from the GDT/LDT, segment register loads with their privilege checks, gate
// delivery with the TSS stack switch, far transfers, iret, the I/O permission check, sysenter/sysexit.
public sealed partial class Cpu
{
    /// <summary>Reads the 8-byte descriptor a selector names (GDT or LDT); faults #GP(selector) past the limit.</summary>
    internal bool ReadDescriptor(ushort selector, out uint low, out uint high, int vector = Vectors.GP)
    {
        low = high = 0;
        uint index = (uint)selector & ~7u;
        uint tableBase, limit;
        if ((selector & 4) != 0)
        {
            if (!Ldtr.Usable) return Fault(vector, (uint)selector & 0xFFFC);
            tableBase = Ldtr.Base; limit = Ldtr.Limit;
        }
        else { tableBase = Gdtr.Base; limit = Gdtr.Limit; }
        if (index + 7 > limit) return Fault(vector, (uint)selector & 0xFFFC);
        return ReadLinear(tableBase + index, 4, false, out low) && ReadLinear(tableBase + index + 4, 4, false, out high);
    }

    /// <summary>Sets the accessed bit of a code/data descriptor, as the CPU does when it loads one.</summary>
    private bool MarkAccessed(ushort selector, uint high)
    {
        if ((high & 0x100) != 0) return true;
        uint tableBase = (selector & 4) != 0 ? Ldtr.Base : Gdtr.Base;
        return WriteLinear(tableBase + ((uint)selector & ~7u) + 4, 4, false, high | 0x100);
    }

    /// <summary>
    /// mov/pop/lds... to DS, ES, FS, GS or SS with the protected-mode checks. CS is loaded only by far
    /// transfers (<see cref="LoadCodeSegment"/>).
    /// </summary>
    internal bool LoadDataSegment(SegReg reg, ushort selector)
    {
        uint err = (uint)selector & 0xFFFC;
        if (reg == SegReg.Ss)
        {
            if ((selector & 0xFFFC) == 0) return GeneralProtection(0);
            if (!ReadDescriptor(selector, out uint lo, out uint hi)) return false;
            var s = Machine.Cpu.Segment.FromDescriptor(selector, lo, hi);
            if ((selector & 3) != Cpl || s.Dpl != Cpl || !s.IsWritable) return GeneralProtection(err);
            if (!s.Present) return StackFault(err);
            if (!MarkAccessed(selector, hi)) return false;
            Segs[(int)reg] = s;
            return true;
        }
        if ((selector & 0xFFFC) == 0)
        {
            Segs[(int)reg] = Machine.Cpu.Segment.Null(selector);
            return true;
        }
        {
            if (!ReadDescriptor(selector, out uint lo, out uint hi)) return false;
            var s = Machine.Cpu.Segment.FromDescriptor(selector, lo, hi);
            if (!s.IsReadable) return GeneralProtection(err);
            if (!s.IsConforming && Math.Max(Cpl, selector & 3) > s.Dpl) return GeneralProtection(err);
            if (!s.Present) return NotPresent(err);
            if (!MarkAccessed(selector, hi)) return false;
            Segs[(int)reg] = s;
            return true;
        }
    }

    /// <summary>
    /// Checks a code selector for a transfer to privilege level <paramref name="newCpl"/> and returns its
    /// cache without loading it (so the caller can finish every check before changing state).
    /// </summary>
    private bool CheckCodeSegment(ushort selector, int newCpl, out Segment cs, out uint high)
    {
        cs = default; high = 0;
        uint err = (uint)selector & 0xFFFC;
        if ((selector & 0xFFFC) == 0) return GeneralProtection(0);
        if (!ReadDescriptor(selector, out uint lo, out high)) return false;
        cs = Machine.Cpu.Segment.FromDescriptor(selector, lo, high);
        if (!cs.IsCode) return GeneralProtection(err);
        if (cs.IsConforming ? cs.Dpl > newCpl : cs.Dpl != newCpl) return GeneralProtection(err);
        if (!cs.Present) return NotPresent(err);
        cs.Selector = (ushort)((selector & 0xFFFC) | newCpl);
        return true;
    }

    /// <summary>Commits a checked code segment and CPL.</summary>
    private bool CommitCodeSegment(in Segment cs, uint high, int newCpl)
    {
        if (!MarkAccessed(cs.Selector, high)) return false;
        Segs[(int)SegReg.Cs] = cs;
        SetCpl(newCpl);
        return true;
    }

    /// <summary>A far jmp/call/ret to the same privilege level (call gates are not modeled: #GP).</summary>
    internal bool LoadCodeSegment(ushort selector, uint eip)
    {
        if ((selector & 0xFFFC) != 0 && ReadDescriptor(selector, out _, out uint hi) && (hi & 0x1000) == 0)
            return GeneralProtection((uint)selector & 0xFFFC); // a system descriptor: call gate or TSS
        if (_hasPending) return false;
        if (!CheckCodeSegment(selector, Cpl, out var cs, out uint high)) return false;
        if ((selector & 3) > Cpl && !cs.IsConforming) return GeneralProtection((uint)selector & 0xFFFC);
        if (eip > cs.Limit) return GeneralProtection(0);
        if (!CommitCodeSegment(cs, high, Cpl)) return false;
        Eip = eip;
        return true;
    }

    // ---- Interrupt and exception delivery through the IDT ----

    /// <summary>Delivers through the IDT gate for a vector. Returns false (fault pending) if delivery faulted.</summary>
    private bool DeliverThroughIdt(int vector, ExceptionKind kind, uint? error, uint returnEip)
    {
        bool software = kind == ExceptionKind.SoftwareInterrupt || (kind == ExceptionKind.Trap && vector is Vectors.BP or Vectors.OF);
        uint ext = kind == ExceptionKind.External || (kind == ExceptionKind.Fault) ? 1u : 0u;
        uint gateErr = (uint)vector * 8 + 2 + (software ? 0 : ext);
        if ((uint)vector * 8 + 7 > Idtr.Limit) return GeneralProtection(gateErr);
        if (!ReadLinear(Idtr.Base + (uint)vector * 8, 4, false, out uint lo) ||
            !ReadLinear(Idtr.Base + (uint)vector * 8 + 4, 4, false, out uint hi)) return false;
        int type = (int)(hi >> 8) & 0x1F;
        int gateDpl = (int)(hi >> 13) & 3;
        bool trapGate = type == 0x0F;
        if (type != 0x0E && type != 0x0F) return GeneralProtection(gateErr); // task gates and 16-bit gates are not modeled
        if (software && gateDpl < Cpl) return GeneralProtection(gateErr);
        if ((hi & 0x8000) == 0) return NotPresent(gateErr); // P is bit 47 of the gate
        ushort selector = (ushort)(lo >> 16);
        uint target = (lo & 0xFFFF) | (hi & 0xFFFF_0000);

        // Target code segment.
        if ((selector & 0xFFFC) == 0) return GeneralProtection(ext);
        if (!ReadDescriptor(selector, out uint clo, out uint chi)) return false;
        var cs = Machine.Cpu.Segment.FromDescriptor(selector, clo, chi);
        uint serr = ((uint)selector & 0xFFFC) | ext;
        if (!cs.IsCode || cs.Dpl > Cpl) return GeneralProtection(serr);
        if (!cs.Present) return NotPresent(serr);
        int newCpl = cs.IsConforming ? Cpl : cs.Dpl;
        cs.Selector = (ushort)((selector & 0xFFFC) | newCpl);
        uint flags = Eflags;
        uint oldCs = Segs[(int)SegReg.Cs].Selector;
        bool pushError = error.HasValue;

        if (newCpl < Cpl)
        {
            // Inner privilege: new stack from the TSS.
            if (!ReadTssStack(newCpl, out ushort newSs, out uint newEsp)) return false;
            if (!CheckStackSegmentFor(newSs, newCpl, out var ss, out uint sshi)) return false;
            uint frame = pushError ? 24u : 20u;
            uint esp = newEsp - frame;
            if (ss.IsExpandDown || newEsp < frame || (ulong)newEsp - 1 > ss.Limit)
                return StackFault(((uint)newSs & 0xFFFC) | ext);
            ReadOnlySpan<uint> pushes = [Segs[(int)SegReg.Ss].Selector, Regs[4], flags, oldCs, returnEip, error ?? 0];
            if (!PushFrame(ss.Base + newEsp, newCpl == 3, pushError ? pushes : pushes[..5])) return false;
            if (!MarkAccessed(newSs, sshi)) return false;
            Counts[(int)Event.StackSwitch]++;
            Segs[(int)SegReg.Ss] = ss;
            Regs[4] = esp;
        }
        else
        {
            uint frame = pushError ? 16u : 12u;
            uint esp = Regs[4] - frame;
            ref Segment ss = ref Segs[(int)SegReg.Ss];
            if ((ulong)esp + frame > ss.WriteEnd && !CheckSegmentSlow((int)SegReg.Ss, esp, (int)frame, true)) return false;
            ReadOnlySpan<uint> pushes = [flags, oldCs, returnEip, error ?? 0];
            if (!PushFrame(ss.Base + Regs[4], Cpl == 3, pushError ? pushes : pushes[..3])) return false;
            Regs[4] = esp;
        }
        if (!CommitCodeSegment(cs, chi, newCpl)) return false;
        Eip = target;
        FlagsRest &= ~(uint)(FlagBits.TF | FlagBits.NT | FlagBits.RF | FlagBits.VM);
        if (!trapGate) FlagsRest &= ~(uint)FlagBits.IF;
        Halted = false;
        return true;
    }

    /// <summary>
    /// Writes an interrupt frame below the linear address <paramref name="top"/>, one dword at a time in the order
    /// the CPU pushes it (so a push that faults leaves the earlier ones written and reports its own address in CR2).
    /// </summary>
    private bool PushFrame(uint top, bool user, ReadOnlySpan<uint> pushes)
    {
        for (int i = 0; i < pushes.Length; i++)
            if (!WriteLinear(top - 4 * (uint)(i + 1), 4, user, pushes[i])) return false;
        return true;
    }

    /// <summary>Reads SSn:ESPn for a privilege level from the current 32-bit TSS.</summary>
    internal bool ReadTssStack(int level, out ushort ss, out uint esp)
    {
        ss = 0; esp = 0;
        uint offset = 4 + (uint)level * 8;
        if (!Tr.Usable || offset + 5 > Tr.Limit) return InvalidTss((uint)Tr.Selector & 0xFFFC);
        if (!ReadLinear(Tr.Base + offset, 4, false, out esp) || !ReadLinear(Tr.Base + offset + 4, 4, false, out uint s)) return false;
        ss = (ushort)s;
        return true;
    }

    private bool CheckStackSegmentFor(ushort selector, int cpl, out Segment ss, out uint high)
    {
        ss = default; high = 0;
        uint err = (uint)selector & 0xFFFC;
        if ((selector & 0xFFFC) == 0) return InvalidTss(err);
        if (!ReadDescriptor(selector, out uint lo, out high, Vectors.TS)) return false;
        ss = Machine.Cpu.Segment.FromDescriptor(selector, lo, high);
        if ((selector & 3) != cpl || ss.Dpl != cpl || !ss.IsWritable) return InvalidTss(err);
        if (!ss.Present) return StackFault(err);
        return true;
    }

    // ---- iret ----

    /// <summary>iret in protected mode (same level or to an outer level); NT (task return) is not modeled.</summary>
    internal bool InterruptReturn(int size)
    {
        if ((FlagsRest & (uint)FlagBits.NT) != 0) return GeneralProtection(0);
        if (!PeekStack(0, size, out uint eip) || !PeekStack((uint)size, size, out uint csv) || !PeekStack(2u * (uint)size, size, out uint flags))
            return false;
        ushort sel = (ushort)csv;
        int rpl = sel & 3;
        if (rpl < Cpl) return GeneralProtection((uint)sel & 0xFFFC);
        if (!CheckCodeSegment(sel, rpl, out var cs, out uint chi)) return false;
        if (size == 2) flags = (Eflags & 0xFFFF_0000) | (flags & 0xFFFF);
        if (rpl == Cpl)
        {
            if (eip > cs.Limit) return GeneralProtection(0);
            if (!CommitCodeSegment(cs, chi, rpl)) return false;
            Regs[4] += 3u * (uint)size;
            SetFlagsPrivileged(flags, size, Cpl);
            Eip = eip;
            return true;
        }
        // Outer level: also pop ESP and SS.
        if (!PeekStack(3u * (uint)size, size, out uint esp) || !PeekStack(4u * (uint)size, size, out uint ssv)) return false;
        ushort ssSel = (ushort)ssv;
        if (!CheckOuterStack(ssSel, rpl, out var ss, out uint shi)) return false;
        if (eip > cs.Limit) return GeneralProtection(0);
        int oldCpl = Cpl;
        if (!MarkAccessed(ssSel, shi) || !CommitCodeSegment(cs, chi, rpl)) return false;
        SetFlagsPrivileged(flags, size, oldCpl);
        Segs[(int)SegReg.Ss] = ss;
        Regs[4] = size == 4 ? esp : (Regs[4] & 0xFFFF_0000) | (ushort)esp;
        Eip = eip;
        NullOuterDataSegments();
        return true;
    }

    /// <summary>The checks on the stack segment an iret or far return to an outer level pops.</summary>
    private bool CheckOuterStack(ushort selector, int rpl, out Segment ss, out uint high)
    {
        ss = default; high = 0;
        if ((selector & 0xFFFC) == 0) return GeneralProtection(0);
        if (!ReadDescriptor(selector, out uint lo, out high)) return false;
        ss = Machine.Cpu.Segment.FromDescriptor(selector, lo, high);
        if ((selector & 3) != rpl || ss.Dpl != rpl || !ss.IsWritable) return GeneralProtection((uint)selector & 0xFFFC);
        if (!ss.Present) return StackFault((uint)selector & 0xFFFC);
        return true;
    }

    /// <summary>After a return to an outer level, data segments the new level may not use become null.</summary>
    private void NullOuterDataSegments()
    {
        for (int r = (int)SegReg.Es; r <= (int)SegReg.Gs; r++)
        {
            if (r is (int)SegReg.Cs or (int)SegReg.Ss) continue;
            ref Segment s = ref Segs[r];
            if (s.Usable && (!s.IsCode || !s.IsConforming) && s.Dpl < Cpl)
                s = Machine.Cpu.Segment.Null(0);
        }
    }

    /// <summary>
    /// Loads EFLAGS as popf/iret do at a privilege level: IOPL only changes at CPL 0, IF only when
    /// CPL &lt;= IOPL; VM, VIF, VIP never change here (no virtual-8086 mode).
    /// </summary>
    internal void SetFlagsPrivileged(uint value, int size, int cpl)
    {
        uint changeable = (uint)(FlagBits.Arithmetic | FlagBits.TF | FlagBits.DF | FlagBits.NT);
        if (size == 4) changeable |= (uint)(FlagBits.AC | FlagBits.ID | FlagBits.RF);
        if (cpl == 0) changeable |= (uint)FlagBits.IOPL;
        if (cpl <= Iopl) changeable |= (uint)FlagBits.IF;
        if (size == 2) changeable &= 0xFFFF;
        uint current = Eflags;
        Eflags = (current & ~changeable) | (value & changeable);
    }

    // ---- Far return ----

    /// <summary>retf [imm]: to the same or an outer level.</summary>
    internal bool FarReturn(int size, uint release)
    {
        if (!PeekStack(0, size, out uint eip) || !PeekStack((uint)size, size, out uint csv)) return false;
        ushort sel = (ushort)csv;
        int rpl = sel & 3;
        if (rpl < Cpl) return GeneralProtection((uint)sel & 0xFFFC);
        if (!CheckCodeSegment(sel, rpl, out var cs, out uint chi)) return false;
        if (eip > cs.Limit) return GeneralProtection(0);
        if (rpl == Cpl)
        {
            if (!CommitCodeSegment(cs, chi, rpl)) return false;
            Regs[4] += 2u * (uint)size + release;
            Eip = eip;
            return true;
        }
        uint at = 2u * (uint)size + release;
        if (!PeekStack(at, size, out uint esp) || !PeekStack(at + (uint)size, size, out uint ssv)) return false;
        ushort ssSel = (ushort)ssv;
        if (!CheckOuterStack(ssSel, rpl, out var ss, out uint shi)) return false;
        if (!MarkAccessed(ssSel, shi) || !CommitCodeSegment(cs, chi, rpl)) return false;
        Segs[(int)SegReg.Ss] = ss;
        Regs[4] = esp + release;
        Eip = eip;
        NullOuterDataSegments();
        return true;
    }

    // ---- I/O permission ----

    /// <summary>True if the current level may access the ports (IOPL, then the TSS I/O bitmap); raises #GP(0) otherwise.</summary>
    internal bool CheckIoPermission(ushort port, int size)
    {
        if (Cpl <= Iopl) return true;
        if (!Tr.Usable || Tr.Limit < 0x67) return GeneralProtection(0);
        if (!ReadLinear(Tr.Base + 0x66, 2, false, out uint mapBase)) return false;
        uint byteOffset = mapBase + (uint)(port >> 3);
        if (byteOffset + 1 > Tr.Limit) return GeneralProtection(0);
        if (!ReadLinear(Tr.Base + byteOffset, 2, false, out uint bits)) return false;
        uint mask = ((1u << size) - 1) << (port & 7);
        return (bits & mask) == 0 || GeneralProtection(0);
    }

    // ---- sysenter / sysexit ----

    /// <summary>sysenter: to ring 0 with the flat segments the SYSENTER MSRs imply.</summary>
    internal bool SysEnter()
    {
        if ((SysenterCs & 0xFFFC) == 0) return GeneralProtection(0);
        FlagsRest &= ~(uint)(FlagBits.VM | FlagBits.IF | FlagBits.RF);
        Segs[(int)SegReg.Cs] = Machine.Cpu.Segment.Flat((ushort)(SysenterCs & 0xFFFC), 0xC09B);
        Segs[(int)SegReg.Ss] = Machine.Cpu.Segment.Flat((ushort)((SysenterCs + 8) & 0xFFFC), 0xC093);
        SetCpl(0);
        Regs[4] = SysenterEsp;
        Eip = SysenterEip;
        return true;
    }

    /// <summary>sysexit: from ring 0 to ring 3, ESP = ECX, EIP = EDX.</summary>
    internal bool SysExit()
    {
        if (Cpl != 0 || (SysenterCs & 0xFFFC) == 0) return GeneralProtection(0);
        Segs[(int)SegReg.Cs] = Machine.Cpu.Segment.Flat((ushort)((SysenterCs + 16) | 3), 0xC0FB);
        Segs[(int)SegReg.Ss] = Machine.Cpu.Segment.Flat((ushort)((SysenterCs + 24) | 3), 0xC0F3);
        SetCpl(3);
        Regs[4] = Regs[1];
        Eip = Regs[2];
        return true;
    }

    // ---- Descriptor-table instructions that load state ----

    /// <summary>ltr: loads the task register from an available 32-bit TSS descriptor and marks it busy.</summary>
    internal bool LoadTaskRegister(ushort selector)
    {
        uint err = (uint)selector & 0xFFFC;
        if ((selector & 0xFFFC) == 0 || (selector & 4) != 0) return GeneralProtection(err);
        if (!ReadDescriptor(selector, out uint lo, out uint hi)) return false;
        var t = Machine.Cpu.Segment.FromDescriptor(selector, lo, hi);
        int type = t.Rights & 0x1F;
        if (type != 0x09 && type != 0x01) return GeneralProtection(err);
        if (!t.Present) return NotPresent(err);
        if (!WriteLinear(Gdtr.Base + ((uint)selector & ~7u) + 4, 4, false, hi | 0x200)) return false;
        t.Rights |= 0x2;
        Tr = t;
        return true;
    }

    /// <summary>lldt: loads LDTR (a null selector disables the LDT).</summary>
    internal bool LoadLdt(ushort selector)
    {
        uint err = (uint)selector & 0xFFFC;
        if ((selector & 0xFFFC) == 0) { Ldtr = Machine.Cpu.Segment.Null(selector); return true; }
        if ((selector & 4) != 0) return GeneralProtection(err);
        if (!ReadDescriptor(selector, out uint lo, out uint hi)) return false;
        var l = Machine.Cpu.Segment.FromDescriptor(selector, lo, hi);
        if ((l.Rights & 0x1F) != 0x02) return GeneralProtection(err);
        if (!l.Present) return NotPresent(err);
        Ldtr = l;
        return true;
    }

    // ---- lar, lsl, verr, verw ----

    /// <summary>
    /// The checks of lar (0), lsl (1), verr (2) and verw (3): true with the access rights or limit when the
    /// descriptor is valid and visible at this level; false (ZF = 0) otherwise. Never faults on a bad selector;
    /// <paramref name="faulted"/> is set only if reading the table faulted (#PF).
    /// </summary>
    internal bool QueryDescriptor(ushort selector, int kind, out uint result, out bool faulted)
    {
        result = 0; faulted = false;
        if ((selector & 0xFFFC) == 0) return false;
        uint tableBase, limit;
        if ((selector & 4) != 0) { if (!Ldtr.Usable) return false; tableBase = Ldtr.Base; limit = Ldtr.Limit; }
        else { tableBase = Gdtr.Base; limit = Gdtr.Limit; }
        uint index = (uint)selector & ~7u;
        if (index + 7 > limit) return false;
        if (!ReadLinear(tableBase + index, 4, false, out uint lo) || !ReadLinear(tableBase + index + 4, 4, false, out uint hi))
        {
            faulted = true;
            return false;
        }
        return EvaluateDescriptorQuery(selector, lo, hi, kind, Cpl, out result);
    }

    /// <summary>
    /// The rule of lar (0), lsl (1), verr (2) and verw (3) for a descriptor already read, at privilege level
    /// <paramref name="cpl"/>: true with the access rights or limit when it is valid and visible there.
    /// (VMMs evaluate it against the guest's own tables at the guest's privilege level.)
    /// </summary>
    internal static bool EvaluateDescriptorQuery(ushort selector, uint lo, uint hi, int kind, int cpl, out uint result)
    {
        result = 0;
        var d = Machine.Cpu.Segment.FromDescriptor(selector, lo, hi);
        int type = d.Rights & 0xF;
        bool typeOk = kind switch
        {
            0 => d.IsCodeOrData || type is 1 or 2 or 3 or 4 or 5 or 9 or 0xB or 0xC,
            1 => d.IsCodeOrData || type is 1 or 2 or 3 or 9 or 0xB,
            2 => d.IsReadable,
            _ => d.IsWritable,
        };
        if (!typeOk) return false;
        if (!d.IsConforming && (d.Dpl < cpl || d.Dpl < (selector & 3))) return false;
        result = kind == 0 ? hi & 0x00F0_FF00 : d.Limit;
        return true;
    }

    /// <summary>The time-stamp counter: simulated time (deterministic, unlike QEMU's).</summary>
    public ulong TimeStampCounter => Ticks;

    // ---- For VMMs ----

    /// <summary>
    /// Loads a segment register from the current GDT/LDT without privilege checks, as a VMM does when it
    /// enters or resumes the guest at a ring of its choosing. Loading CS sets CPL to the selector's RPL.
    /// Returns false if the descriptor could not be read (the fault is discarded).
    /// </summary>
    public bool LoadSegmentUnchecked(SegReg reg, ushort selector)
    {
        if ((selector & 0xFFFC) == 0)
        {
            if (reg is SegReg.Cs or SegReg.Ss) return false;
            Segs[(int)reg] = Machine.Cpu.Segment.Null(selector);
            return true;
        }
        if (!TryDescribe(selector, out var segment)) return false;
        LoadSegmentCache(reg, segment);
        return true;
    }

    /// <summary>
    /// The segment cache a selector would load, read from the current GDT/LDT without checks or faults
    /// (false if the selector is null or its descriptor cannot be read).
    /// </summary>
    public bool TryDescribe(ushort selector, out Segment segment)
    {
        segment = default;
        if ((selector & 0xFFFC) == 0) return false;
        if (!ReadDescriptor(selector, out uint lo, out uint hi))
        {
            _hasPending = _nestedFaultPending = false;
            Aborted = false;
            return false;
        }
        segment = Machine.Cpu.Segment.FromDescriptor(selector, lo, hi);
        return true;
    }
}
