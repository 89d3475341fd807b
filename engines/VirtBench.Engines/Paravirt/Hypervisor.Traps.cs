using System.Buffers.Binary;
using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

// The guest kernel's entry points and the CPU state it may set: exceptions bounced to the trap table, software
// interrupts with their gate checks, sysenter, set_trap_table and the direct system-call gate, the callbacks,
// stack_switch, set_gdt and the iret hypercall.
internal sealed partial class Hypervisor
{
    private const uint InterruptFlag = 0x200;

    /// <summary>A fault or trap of the guest: bounced to its handler, with CR2 in the shared page for a page fault.</summary>
    private void Fault(Cpu cpu, GuestException e)
    {
        if (e.Vector == Vectors.PF)
        {
            // A supervisor access while at CPL 3 is the CPU's own push of a gate frame: the kernel stack is unusable.
            if (cpu.Cpl == 3 && (e.ErrorCode & 4) == 0)
            {
                Crash(cpu, $"page fault at 0x{e.FaultAddress:x8} while entering the guest kernel");
                return;
            }
            Shared.Cr2 = e.FaultAddress;
        }
        if (e.Vector == Vectors.GP && cpu.Cpl == 1 && IsPrivileged(cpu, e.InstructionEip)) Count(Event.TrapPrivilegedInstruction);
        uint returnEip = e.Kind == ExceptionKind.Fault ? e.InstructionEip : e.NextEip;
        if (Traps[e.Vector] is null)
        {
            string detail = e.Vector == Vectors.PF ? $" at 0x{e.FaultAddress:x8}" : "";
            Crash(cpu, $"{Vectors.Name(e.Vector)}{detail} (error 0x{e.ErrorCode ?? 0:x}) with no handler registered");
            return;
        }
        Bounce(cpu, e.Vector, e.ErrorCode, returnEip, Event.BouncedException);
    }

    /// <summary>int n, int3, into: allowed if the vector's handler admits the caller's privilege, else #GP as a gate would raise it.</summary>
    private void SoftwareInterrupt(Cpu cpu, GuestException e)
    {
        var counted = e.Vector == TrapTable.SystemCallVector ? Event.BouncedSystemCall : Event.BouncedException;
        if (Traps[e.Vector] is { } handler && handler.Dpl >= cpu.Cpl) Bounce(cpu, e.Vector, null, e.NextEip, counted);
        else Bounce(cpu, Vectors.GP, (uint)e.Vector * 8 + 2, e.InstructionEip, Event.BouncedException);
    }

    private void Bounce(Cpu cpu, int vector, uint? error, uint returnEip, Event counted)
    {
        if (Traps[vector] is not { } handler)
        {
            Crash(cpu, $"{Vectors.Name(vector)} with no handler registered");
            return;
        }
        if (!_entry.Bounce(cpu, handler, returnEip, error))
        {
            Crash(cpu, $"the {Vectors.Name(vector)} frame could not be pushed on the guest kernel stack");
            return;
        }
        Count(counted);
    }

    /// <summary>A user-mode sysenter (it faults: the real SYSENTER_CS is never set): entered at the guest's sysenter callback.</summary>
    private void Sysenter(Cpu cpu, GuestException e)
    {
        if (SysenterCallback is not { } callback)
        {
            Bounce(cpu, Vectors.GP, 0, e.InstructionEip, Event.BouncedException);
            return;
        }
        if (_entry.Sysenter(cpu, callback)) Count(Event.BouncedSystemCall);
        else Crash(cpu, "the sysenter callback could not be entered");
    }

    private bool IsSysenter(Cpu cpu, uint eip)
    {
        Span<byte> bytes = stackalloc byte[2];
        return _guest.TryReadBytes(cpu.Segment(SegReg.Cs).Base + eip, bytes, user: true, out _) && bytes[0] == 0x0F && bytes[1] == 0x34;
    }

    /// <summary>Instructions that fault at ring 1: the paravirtual kernel must never execute one.</summary>
    private static readonly HashSet<Mnemonic> PrivilegedMnemonics =
    [
        Mnemonic.Cli, Mnemonic.Sti, Mnemonic.Hlt, Mnemonic.In, Mnemonic.Out, Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd,
        Mnemonic.Outsb, Mnemonic.Outsw, Mnemonic.Outsd, Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Lldt, Mnemonic.Ltr,
        Mnemonic.Lmsw, Mnemonic.Clts, Mnemonic.Invlpg, Mnemonic.Invd, Mnemonic.Wbinvd, Mnemonic.Wrmsr, Mnemonic.Rdmsr,
        Mnemonic.Sysexit,
    ];

    private bool IsPrivileged(Cpu cpu, uint eip)
    {
        var bytes = new byte[15];
        int n = _guest.ReadBytes(cpu.Segment(SegReg.Cs).Base + eip, bytes, user: false);
        var instruction = Decoder.Create(32, new ByteArrayCodeReader(bytes, 0, n)).Decode();
        if (PrivilegedMnemonics.Contains(instruction.Mnemonic)) return true;
        for (int i = 0; i < instruction.OpCount; i++)
            if (instruction.GetOpKind(i) == OpKind.Register && instruction.GetOpRegister(i) is var r && (r.IsCR() || r.IsDR()))
                return true;
        return false;
    }

    // ---- Registration ----

    /// <summary>set_trap_table: trap_info entries up to one with address 0 (a null pointer clears the table).</summary>
    private int SetTrapTable(Cpu cpu, uint entries)
    {
        int rc = 0;
        if (entries == 0) Traps.Clear();
        Span<byte> info = stackalloc byte[TrapInfo.Size];
        for (uint i = 0; entries != 0 && i < 256; i++)
        {
            if (!TryRead(entries + i * TrapInfo.Size, info)) { rc = -Error.EFAULT; break; }
            uint address = BinaryPrimitives.ReadUInt32LittleEndian(info[4..]);
            if (address == 0) break;
            if (!Traps.Register(info[0], info[1], BinaryPrimitives.ReadUInt16LittleEndian(info[2..]), address)) { rc = -Error.EINVAL; break; }
        }
        UpdateDirectGate(cpu);
        return rc;
    }

    /// <summary>Installs (or removes) the real IDT gate of the system-call vector, so int 0x80 bypasses the hypervisor.</summary>
    private void UpdateDirectGate(Cpu cpu)
    {
        int vector = TrapTable.SystemCallVector;
        bool direct = Traps.SystemCallIsDirect && GuestKernelEntry.IsRing1(cpu, Traps[vector]!.Value.Cs, code: true);
        if (direct) Tables.SetDirectGate(vector, Traps[vector]!.Value.Cs, Traps[vector]!.Value.Eip);
        else Tables.ClearGate(vector);
        cpu.DirectVectors[vector] = direct;
    }

    /// <summary>set_callbacks(event CS, EIP, failsafe CS, EIP).</summary>
    private int SetCallbacks(uint eventCs, uint eventEip, uint failsafeCs, uint failsafeEip)
    {
        if (!Ring1Selector(eventCs, out ushort ecs) || !Ring1Selector(failsafeCs, out ushort fcs)) return -Error.EINVAL;
        Events.Callback = new GuestHandler(ecs, eventEip, 1, MaskEvents: true);
        FailsafeCallback = new GuestHandler(fcs, failsafeEip, 1, MaskEvents: true);
        return 0;
    }

    /// <summary>callback_op(register, {type, flags, cs, eip}): event, failsafe or sysenter.</summary>
    private int CallbackOp(uint command, uint argument)
    {
        if (command != Callback.Register) return -Error.ENOSYS;
        Span<byte> info = stackalloc byte[12];
        if (!TryRead(argument, info)) return -Error.EFAULT;
        uint type = BinaryPrimitives.ReadUInt16LittleEndian(info), flags = BinaryPrimitives.ReadUInt16LittleEndian(info[2..]);
        if (!Ring1Selector(BinaryPrimitives.ReadUInt32LittleEndian(info[4..]), out ushort cs)) return -Error.EINVAL;
        var handler = new GuestHandler(cs, BinaryPrimitives.ReadUInt32LittleEndian(info[8..]), 1, (flags & Callback.FlagMaskEvents) != 0);
        switch (type)
        {
            case Callback.TypeEvent: Events.Callback = handler with { MaskEvents = true }; break;
            case Callback.TypeFailsafe: FailsafeCallback = handler; break;
            case Callback.TypeSysenter: SysenterCallback = handler; break;
            default: return -Error.EINVAL;
        }
        return 0;
    }

    /// <summary>A guest code or stack selector with its RPL forced to 1 (a ring-0 RPL is fixed up, as Xen does).</summary>
    private static bool Ring1Selector(uint selector, out ushort fixedUp)
    {
        fixedUp = (ushort)((selector & 3) == 0 ? selector | 1 : selector);
        return selector <= 0xFFFF && (fixedUp & 3) == 1 && (fixedUp & 0xFFFC) != 0;
    }

    /// <summary>stack_switch(SS, ESP): the ring-1 stack for the next entry from user mode.</summary>
    private int StackSwitch(Cpu cpu, uint ss, uint esp)
    {
        if (!Ring1Selector(ss, out ushort selector) || !GuestKernelEntry.IsRing1(cpu, selector, code: false)) return -Error.EINVAL;
        Tables.SetKernelStack(selector, esp);
        return 0;
    }

    /// <summary>set_gdt(frame list, entries): the guest's descriptors, copied into the real GDT once all pass the checks.</summary>
    private int SetGdt(uint frameList, uint entries)
    {
        if (entries > Gdt.FirstReservedEntry) return -Error.EINVAL;
        int pages = (int)((entries * 8 + Platform.PageSize - 1) / Platform.PageSize);
        var descriptors = new ulong[entries];
        for (int p = 0; p < pages; p++)
        {
            if (!TryRead32(frameList + (uint)p * 4, out uint frame)) return -Error.EFAULT;
            if (Frames.OwnerOf(frame) != FrameOwner.Guest) return -Error.EPERM;
            for (int i = p * 512; i < Math.Min(entries, (p + 1) * 512); i++)
            {
                uint at = (frame << 12) + (uint)(i - p * 512) * 8;
                descriptors[i] = _pc.Memory.Read32(at) | (ulong)_pc.Memory.Read32(at + 4) << 32;
            }
        }
        return Tables.SetGuestDescriptors(descriptors);
    }

    // ---- iret ----

    /// <summary>
    /// The iret hypercall: the guest pushed EAX over an interrupt frame [EIP, CS, EFLAGS (, ESP, SS)]. Restores
    /// them, sets the event mask from the frame's IF atomically with the return, and delivers a pending event at
    /// once if that unmasked events. A frame the CPU could not return to crashes the domain.
    /// </summary>
    private void Iret(Cpu cpu)
    {
        Span<byte> frame = stackalloc byte[24];
        uint esp = cpu.Esp;
        if (!TryRead(cpu.Segment(SegReg.Ss).Base + esp, frame[..16])) { Crash(cpu, "iret hypercall with an unreadable frame"); return; }
        uint eax = BinaryPrimitives.ReadUInt32LittleEndian(frame), eip = BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]);
        uint csValue = BinaryPrimitives.ReadUInt32LittleEndian(frame[8..]), flags = BinaryPrimitives.ReadUInt32LittleEndian(frame[12..]);
        ushort cs = (ushort)((csValue & 3) == 0 ? csValue | 1 : csValue);
        int ring = cs & 3;
        ushort ss = 0;
        uint newEsp = esp + 16;
        if (ring == 3)
        {
            if (!TryRead(cpu.Segment(SegReg.Ss).Base + esp + 16, frame[16..])) { Crash(cpu, "iret hypercall with an unreadable frame"); return; }
            newEsp = BinaryPrimitives.ReadUInt32LittleEndian(frame[16..]);
            ss = (ushort)BinaryPrimitives.ReadUInt32LittleEndian(frame[20..]);
        }
        if (!ReturnTargetIsValid(cpu, cs, ring, ss))
        {
            // Xen's failsafe callback: the guest learns that it asked for a return the CPU could not make.
            if (FailsafeCallback is { } failsafe && _entry.Bounce(cpu, failsafe, cpu.Eip, null)) Count(Event.BouncedException);
            else Crash(cpu, $"iret hypercall to an invalid frame (CS 0x{cs:x4}, SS 0x{ss:x4})");
            return;
        }

        const uint changeable = 0x0025_4DD5 & ~(InterruptFlag | 0x3000);   // arithmetic, TF, DF, NT, AC, ID, RF; never IF or IOPL
        cpu.Eflags = (cpu.Eflags & ~changeable) | (flags & changeable) | InterruptFlag;
        Shared.Masked = (flags & InterruptFlag) == 0;
        cpu.Eax = eax;
        if (ring == 3)
        {
            cpu.LoadSegmentUnchecked(SegReg.Ss, ss);
            foreach (var r in new[] { SegReg.Ds, SegReg.Es, SegReg.Fs, SegReg.Gs })
                if (cpu.Segment(r) is { Usable: true } s && s.Dpl < 3 && !s.IsConforming) cpu.LoadSegmentUnchecked(r, 0);
        }
        cpu.LoadSegmentUnchecked(SegReg.Cs, cs);
        cpu.Esp = newEsp;
        cpu.Eip = eip;
        Events.TryUpcall(cpu);
    }

    private static bool ReturnTargetIsValid(Cpu cpu, ushort cs, int ring, ushort ss)
    {
        if (ring is not (1 or 3) || !cpu.TryDescribe(cs, out var code) || !code.Present || !code.IsCode || code.IsConforming || code.Dpl != ring)
            return false;
        return ring == 1 || (ss & 3) == 3 && cpu.TryDescribe(ss, out var stack) && stack.Present && stack.IsWritable && stack.Dpl == 3;
    }
}
