using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// Delivers an exception, interrupt or system call into the guest kernel through the guest's own IDT (its virtual
/// IDTR), as the guest's CPU would: the gate's checks (limit, type, presence, DPL for software interrupts), the
/// switch to the guest's kernel stack from the guest's own TSS when coming from user mode (SS0:ESP0 read from guest
/// memory at delivery, since the kernel updates them with plain stores), the frame the guest expects (its own CS
/// ring and IF), the guest's IF cleared by an interrupt gate, and the double- and triple-fault rules when delivery
/// itself fails. The frame is written and CS:EIP loaded by <see cref="KernelEntry"/>; the real IF stays set.
/// </summary>
public sealed class ExceptionReflection
{
    private readonly Cpu _cpu;
    private readonly VirtualCpu _v;
    private readonly GuestDescriptors _descriptors;
    private readonly ulong[] _counts;

    /// <summary>Reflection into the guest whose virtual CPU is <paramref name="vcpu"/>.</summary>
    public ExceptionReflection(Cpu cpu, VirtualCpu vcpu)
    {
        _cpu = cpu;
        _v = vcpu;
        _descriptors = new GuestDescriptors(vcpu);
        _counts = cpu.Counters.Raw;
    }

    /// <summary>
    /// Delivers <paramref name="vector"/> to a guest running at privilege level <paramref name="guestCpl"/>;
    /// <paramref name="returnEip"/> is the EIP the frame saves. For a page fault, set <see cref="VirtualCpu.Cr2"/>
    /// first. Counts one reflected exception, interrupt or system call. False if delivery ended in a triple fault
    /// (the run is stopped).
    /// </summary>
    public bool Reflect(int vector, ExceptionKind kind, uint? errorCode, uint instructionEip, uint returnEip, int guestCpl)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            if (TryDeliver(vector, kind, errorCode, returnEip, guestCpl, out var second))
            {
                _counts[(int)(kind switch
                {
                    ExceptionKind.External => Event.ReflectedInterrupt,
                    ExceptionKind.SoftwareInterrupt => Event.ReflectedSystemCall,
                    _ => Event.ReflectedException,
                })]++;
                return true;
            }
            if (vector == Vectors.DF) break;
            if (Cpu.MakesDoubleFault(vector, kind, second.Vector)) (vector, errorCode) = (Vectors.DF, 0);
            else
            {
                (vector, errorCode) = (second.Vector, second.ErrorCode);
                if (vector == Vectors.PF) _v.Cr2 = second.Address;
            }
            kind = ExceptionKind.Fault;
            returnEip = instructionEip;
        }
        _cpu.Stop(new RunOutcome(OutcomeKind.TripleFault,
            $"triple fault at EIP 0x{instructionEip:x8}: the guest's IDT, GDT, TSS or kernel stack could not take a double fault"));
        return false;
    }

    /// <summary>One delivery attempt; false with the exception that delivery raised.</summary>
    private bool TryDeliver(int vector, ExceptionKind kind, uint? errorCode, uint returnEip, int guestCpl, out GuestFault second)
    {
        second = default;
        bool software = kind == ExceptionKind.SoftwareInterrupt || (kind == ExceptionKind.Trap && vector is Vectors.BP or Vectors.OF);
        uint ext = kind is ExceptionKind.External or ExceptionKind.Fault ? 1u : 0u;
        uint gateError = (uint)vector * 8 + 2 + (software ? 0 : ext);
        var memory = _v.Memory;

        // The gate.
        uint gateAt = _v.Idtr.Base + (uint)vector * 8;
        if ((uint)vector * 8 + 7 > _v.Idtr.Limit) return Fails(Vectors.GP, gateError, out second);
        if (!memory.TryRead(gateAt, 4, false, out uint low, out var failure) || !memory.TryRead(gateAt + 4, 4, false, out uint high, out failure))
            return Fails(Vectors.PF, failure.ErrorCode, out second, gateAt);
        int type = (int)(high >> 8) & 0x1F;
        if (type is not (0x0E or 0x0F)) return Fails(Vectors.GP, gateError, out second); // task and 16-bit gates are not modeled
        if (software && ((high >> 13) & 3) < guestCpl) return Fails(Vectors.GP, gateError, out second);
        if ((high & 0x8000) == 0) return Fails(Vectors.NP, gateError, out second);

        // The handler's code segment, in the guest's GDT.
        ushort selector = (ushort)(low >> 16);
        uint selectorError = ((uint)selector & 0xFFFC) | ext;
        if ((selector & 0xFFFC) == 0) return Fails(Vectors.GP, ext, out second);
        switch (_descriptors.TryRead(selector, out uint codeLow, out uint codeHigh, out failure))
        {
            case GuestDescriptors.ReadStatus.PageFault: return Fails(Vectors.PF, failure.ErrorCode, out second, _v.Gdtr.Base + ((uint)selector & ~7u));
            case GuestDescriptors.ReadStatus.OutsideTable: return Fails(Vectors.GP, selectorError, out second);
        }
        var code = Segment.FromDescriptor(selector, codeLow, codeHigh);
        if (!code.IsCode) return Fails(Vectors.GP, selectorError, out second);
        if (!code.Present) return Fails(Vectors.NP, selectorError, out second);
        int newCpl = code.IsConforming ? guestCpl : code.Dpl;
        if (newCpl > guestCpl) return Fails(Vectors.GP, selectorError, out second);

        var frame = new KernelEntryFrame
        {
            HandlerCs = GuestRings.RealSelector((selector & 0xFFFC) | newCpl),
            HandlerEip = (high & 0xFFFF_0000) | (low & 0xFFFF),
            PushedFlags = _v.GuestFlags(_cpu.Eflags),
            PushedCs = GuestRings.GuestSelector(_cpu.Segment(SegReg.Cs).Selector),
            PushedEip = returnEip,
            ErrorCode = errorCode,
        };
        uint stackLinear;
        if (newCpl < guestCpl)
        {
            if (!TryKernelStack(newCpl, ext, out ushort ss, out uint esp, out uint stackBase, out second)) return false;
            frame = frame with
            {
                KernelStack = (GuestRings.RealSelector(ss), esp),
                PushedSs = GuestRings.GuestSelector(_cpu.Segment(SegReg.Ss).Selector),
                PushedEsp = _cpu.Esp,
            };
            stackLinear = stackBase + esp;
        }
        else stackLinear = _cpu.Segment(SegReg.Ss).Base + _cpu.Esp;

        if (!KernelEntry.Enter(_cpu, memory, frame, out failure))
            return failure.Status == GuestTranslationStatus.PageFault
                ? Fails(Vectors.PF, failure.ErrorCode, out second, stackLinear - 4)
                : Fails(Vectors.SS, ext, out second);
        _cpu.Eflags &= ~(uint)(FlagBits.TF | FlagBits.NT | FlagBits.RF | FlagBits.VM);
        if (type == 0x0E) _v.InterruptFlag = false;
        _cpu.Halted = false;
        return true;
    }

    /// <summary>SS:ESP for ring <paramref name="cpl"/> from the guest's own TSS, with the guest's checks of SS.</summary>
    private bool TryKernelStack(int cpl, uint ext, out ushort ss, out uint esp, out uint stackBase, out GuestFault fault)
    {
        ss = 0; esp = stackBase = 0; fault = default;
        var tss = _v.Tr;
        uint tssError = ((uint)tss.Selector & 0xFFFC) | ext;
        uint offset = 4 + (uint)cpl * 8;
        if (!tss.Usable || offset + 5 > tss.Limit) return Fails(Vectors.TS, tssError, out fault);
        if (!_v.Memory.TryRead(tss.Base + offset, 4, false, out esp, out var failure) ||
            !_v.Memory.TryRead(tss.Base + offset + 4, 2, false, out uint ssValue, out failure))
            return Fails(Vectors.PF, failure.ErrorCode, out fault, tss.Base + offset);
        ss = (ushort)ssValue;
        uint ssError = ((uint)ss & 0xFFFC) | ext;
        if ((ss & 0xFFFC) == 0 || !_descriptors.TryDescribe(ss, out var stack)) return Fails(Vectors.TS, ssError, out fault);
        if ((ss & 3) != cpl || stack.Dpl != cpl || !stack.IsWritable) return Fails(Vectors.TS, ssError, out fault);
        if (!stack.Present) return Fails(Vectors.SS, ssError, out fault);
        stackBase = stack.Base;
        return true;
    }

    private static bool Fails(int vector, uint? error, out GuestFault fault, uint address = 0)
    {
        fault = new GuestFault(vector, error, address);
        return false;
    }
}
