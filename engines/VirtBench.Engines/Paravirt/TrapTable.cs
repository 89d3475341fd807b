using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

/// <summary>A guest handler registered with set_trap_table (or a callback): where to enter the guest kernel.</summary>
/// <param name="Cs">The handler's code selector (RPL 1).</param>
/// <param name="Eip">The handler's address.</param>
/// <param name="Dpl">The lowest privilege allowed to raise the vector with int n (as an IDT gate's DPL).</param>
/// <param name="MaskEvents">Mask events on entry (an interrupt gate rather than a trap gate).</param>
internal readonly record struct GuestHandler(ushort Cs, uint Eip, int Dpl, bool MaskEvents);

/// <summary>
/// The guest's virtual IDT: one handler per vector, registered with set_trap_table. The system-call vector, when
/// its handler is a DPL-3 trap gate, is also installed in the real IDT so that int 0x80 reaches the guest kernel
/// without entering the hypervisor (Xen's direct int 0x80 trap).
/// </summary>
internal sealed class TrapTable
{
    /// <summary>The vector whose handler may be installed as a direct gate.</summary>
    public const int SystemCallVector = 0x80;

    private readonly GuestHandler?[] _handlers = new GuestHandler?[256];

    /// <summary>The handler of a vector, if one is registered.</summary>
    public GuestHandler? this[int vector] => _handlers[vector];

    /// <summary>Forgets every handler (set_trap_table with a null pointer).</summary>
    public void Clear() => Array.Clear(_handlers);

    /// <summary>
    /// Registers one trap_info entry. The selector's RPL is forced to 1, as Xen's fixup_guest_code_selector does.
    /// Returns false for a selector that is not a ring-1 (or fixable ring-0) one.
    /// </summary>
    public bool Register(int vector, uint flags, ushort cs, uint eip)
    {
        if ((cs & 3) == 0) cs |= 1;
        if ((cs & 3) != 1 || (cs & 0xFFFC) == 0) return false;
        _handlers[vector] = new GuestHandler(cs, eip, (int)(flags & TrapInfo.DplMask), (flags & TrapInfo.MaskEvents) != 0);
        return true;
    }

    /// <summary>True if the system-call handler can be entered directly by the CPU: user-callable, no event masking.</summary>
    public bool SystemCallIsDirect => _handlers[SystemCallVector] is { Dpl: 3, MaskEvents: false };
}
