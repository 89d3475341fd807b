using VirtBench.Engines.Vmm;
using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Paravirt;

/// <summary>
/// How the hypervisor enters the guest kernel at ring 1: a bounce frame for exceptions and event upcalls (Xen's
/// create_bounce_frame), built as an interrupt gate would build it on the kernel stack of stack_switch, with the
/// virtual interrupt flag in the pushed EFLAGS; and the frameless entry of a sysenter callback.
/// </summary>
internal sealed class GuestKernelEntry(GuestAddressSpace guest, DescriptorTables tables, SharedInfoPage shared)
{
    private const uint InterruptFlag = 0x200, EntryClearedFlags = 0x100 | 0x4000 | 0x1_0000;   // TF, NT, RF

    /// <summary>
    /// Pushes [SS, ESP,] EFLAGS, CS, EIP [, error] and enters the handler; events are masked if it asks.
    /// False if the handler's selector or the guest kernel stack is unusable (the domain cannot continue).
    /// </summary>
    public bool Bounce(Cpu cpu, GuestHandler handler, uint returnEip, uint? error)
    {
        if (!IsRing1(cpu, handler.Cs, code: true)) return false;
        bool fromUser = cpu.Cpl == 3;
        var stack = tables.KernelStack;
        if (fromUser && !IsRing1(cpu, stack.Ss, code: false)) return false;
        var frame = new KernelEntryFrame
        {
            HandlerCs = handler.Cs,
            HandlerEip = handler.Eip,
            KernelStack = fromUser ? stack : null,
            PushedFlags = VirtualFlags(cpu),
            PushedCs = cpu.Segment(SegReg.Cs).Selector,
            PushedEip = returnEip,
            PushedSs = cpu.Segment(SegReg.Ss).Selector,
            PushedEsp = cpu.Esp,
            ErrorCode = error,
        };
        if (!KernelEntry.Enter(cpu, guest, frame, out _)) return false;
        Entered(cpu, handler);
        return true;
    }

    /// <summary>Enters a sysenter callback as sysenter would: no frame, on the ring-1 stack of stack_switch.</summary>
    public bool Sysenter(Cpu cpu, GuestHandler handler)
    {
        var stack = tables.KernelStack;
        if (!IsRing1(cpu, handler.Cs, code: true) || !IsRing1(cpu, stack.Ss, code: false)) return false;
        cpu.LoadSegmentUnchecked(SegReg.Ss, stack.Ss);
        cpu.LoadSegmentUnchecked(SegReg.Cs, handler.Cs);
        cpu.Esp = stack.Esp;
        cpu.Eip = handler.Eip;
        Entered(cpu, handler);
        return true;
    }

    /// <summary>EFLAGS as the guest sees them: IF is the inverse of the event mask (the real IF is always set).</summary>
    public uint VirtualFlags(Cpu cpu) => (cpu.Eflags & ~InterruptFlag) | (shared.Masked ? 0 : InterruptFlag);

    private void Entered(Cpu cpu, GuestHandler handler)
    {
        cpu.Eflags &= ~EntryClearedFlags;
        if (handler.MaskEvents) shared.Masked = true;
    }

    /// <summary>True if the selector names a present ring-1 code (or writable data) segment.</summary>
    public static bool IsRing1(Cpu cpu, ushort selector, bool code) =>
        (selector & 3) == 1 && cpu.TryDescribe(selector, out var s) && s.Present && s.Dpl == 1
        && (code ? s.IsCode && !s.IsConforming : s.IsWritable);
}
