using VirtBench.Machine;
using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// What a VMM pushes and loads to enter the guest kernel as an interrupt gate would: the reflection of an
/// exception or interrupt (trap-and-emulate, binary translation), a paravirtual bounce or event upcall.
/// Selectors are real ones (with the ring the VMM runs the guest kernel at); the pushed values are what the
/// guest must see (its own CS with RPL 0, EFLAGS with its virtual IF).
/// </summary>
public readonly record struct KernelEntryFrame
{
    /// <summary>Real code selector of the handler (its RPL is the ring the kernel runs at).</summary>
    public required ushort HandlerCs { get; init; }
    /// <summary>Handler entry point.</summary>
    public required uint HandlerEip { get; init; }
    /// <summary>When entering from user mode: the real kernel stack selector and pointer to switch to; else null.</summary>
    public (ushort Ss, uint Esp)? KernelStack { get; init; }
    /// <summary>The EFLAGS image pushed (the guest's view).</summary>
    public required uint PushedFlags { get; init; }
    /// <summary>The CS image pushed (the guest's view of the interrupted code segment).</summary>
    public required uint PushedCs { get; init; }
    /// <summary>The return EIP pushed.</summary>
    public required uint PushedEip { get; init; }
    /// <summary>The user SS and ESP pushed when switching stacks (the guest's view).</summary>
    public uint PushedSs { get; init; }
    /// <summary>See <see cref="PushedSs"/>.</summary>
    public uint PushedEsp { get; init; }
    /// <summary>The error code, if the vector has one.</summary>
    public uint? ErrorCode { get; init; }
}

/// <summary>Enters the guest kernel through a frame built by the VMM (shared by every software VMM).</summary>
public static class KernelEntry
{
    /// <summary>
    /// Writes the frame on the kernel stack (through the guest's page tables) and loads CS:EIP (and SS:ESP)
    /// on the CPU. Returns false, with the failing translation, if the guest's kernel stack is not writable:
    /// the caller then reflects the fault as the guest's hardware would (a double fault).
    /// </summary>
    public static bool Enter(Cpu cpu, GuestAddressSpace memory, in KernelEntryFrame frame, out GuestTranslation failure)
    {
        uint ss, esp;
        uint ssBase;
        Segment stackSegment;
        if (frame.KernelStack is { } stack)
        {
            (ss, esp) = (stack.Ss, stack.Esp);
            if (!cpu.TryDescribe(stack.Ss, out stackSegment)) { failure = default; return false; }
            ssBase = stackSegment.Base;
        }
        else
        {
            ss = cpu.Segment(SegReg.Ss).Selector;
            esp = cpu.Esp;
            stackSegment = cpu.Segment(SegReg.Ss);
            ssBase = stackSegment.Base;
        }

        Span<uint> words = stackalloc uint[6];
        int n = 0;
        if (frame.ErrorCode is uint error) words[n++] = error;
        words[n++] = frame.PushedEip;
        words[n++] = frame.PushedCs;
        words[n++] = frame.PushedFlags;
        if (frame.KernelStack is not null)
        {
            words[n++] = frame.PushedEsp;
            words[n++] = frame.PushedSs;
        }
        uint newEsp = esp - (uint)(4 * n);
        for (int i = 0; i < n; i++)
            if (!memory.TryWrite(ssBase + newEsp + (uint)(4 * i), 4, user: false, words[i], out failure)) return false;

        if (frame.KernelStack is not null)
        {
            cpu.LoadSegmentCache(SegReg.Ss, stackSegment);
        }
        if (!cpu.LoadSegmentUnchecked(SegReg.Cs, frame.HandlerCs)) { failure = default; return false; }
        cpu.Esp = newEsp;
        cpu.Eip = frame.HandlerEip;
        failure = default;
        return true;
    }
}
