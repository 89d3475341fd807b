namespace VirtBench.Engines.Vmm;

/// <summary>
/// Ring compression for a deprivileged guest kernel: guest ring 0 runs at real ring 1 (trap-and-emulate, and the
/// binary translator's translated kernel code); rings 1-3 are unchanged. Descriptors the guest gave DPL 0 get DPL 1
/// in the VMM's real tables, selectors loaded into CS and SS carry RPL 1, and whatever the guest is shown
/// (pushed frames, emulated reads of CS and SS) carries its own ring 0 again.
/// </summary>
/// <remarks>Guest rings 0 and 1 share real ring 1, as in VMware's VMM: a guest that used ring 1 itself could not tell them apart.</remarks>
public static class GuestRings
{
    /// <summary>The real ring the guest kernel runs at.</summary>
    public const int KernelRing = 1;

    /// <summary>The real ring for a guest ring (or the real DPL for a guest DPL).</summary>
    public static int RealRing(int guestRing) => guestRing == 0 ? KernelRing : guestRing;

    /// <summary>The guest's ring for the real CPL the CPU runs the guest at.</summary>
    public static int GuestRing(int realRing) => realRing == KernelRing ? 0 : realRing;

    /// <summary>The real selector for a guest selector loaded into CS or SS (RPL 0 becomes 1).</summary>
    public static ushort RealSelector(int guestSelector) => (ushort)((guestSelector & 0xFFFC) | RealRing(guestSelector & 3));

    /// <summary>The selector the guest must see for a real one (RPL 1 becomes 0).</summary>
    public static ushort GuestSelector(int realSelector) => (ushort)((realSelector & 0xFFFC) | GuestRing(realSelector & 3));

    /// <summary>A guest code or data descriptor as the VMM's real GDT holds it: DPL 0 becomes 1 (other descriptors unchanged).</summary>
    public static uint RealDescriptorHigh(uint high)
    {
        bool codeOrData = (high & 0x1000) != 0;
        int dpl = (int)(high >> 13) & 3;
        return codeOrData && dpl == 0 ? (high & ~0x6000u) | ((uint)KernelRing << 13) : high;
    }
}
