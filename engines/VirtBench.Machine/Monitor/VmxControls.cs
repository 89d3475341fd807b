using System.Collections;

namespace VirtBench.Machine.Monitor;

/// <summary>
/// The execution controls of a VMCS: which guest events exit to the VMM in VMX non-root mode.
/// cpuid and vmcall always exit, as on real hardware.
/// </summary>
public sealed class VmxControls
{
    /// <summary>hlt exits.</summary>
    public bool HltExiting { get; set; }
    /// <summary>mov to CR3 exits (shadow paging).</summary>
    public bool Cr3LoadExiting { get; set; }
    /// <summary>mov from CR3 exits (shadow paging).</summary>
    public bool Cr3StoreExiting { get; set; }
    /// <summary>invlpg exits (shadow paging).</summary>
    public bool InvlpgExiting { get; set; }
    /// <summary>rdtsc exits.</summary>
    public bool RdtscExiting { get; set; }
    /// <summary>External interrupts exit.</summary>
    public bool ExternalInterruptExiting { get; set; }
    /// <summary>Exit as soon as the guest can take an interrupt (IF = 1, no interrupt shadow).</summary>
    public bool InterruptWindowExiting { get; set; }
    /// <summary>Exceptions whose bit is set exit (bit 14: #PF).</summary>
    public uint ExceptionBitmap { get; set; }
    /// <summary>CR0 bits owned by the VMM: writes changing them relative to the read shadow exit; reads return the shadow.</summary>
    public uint Cr0GuestHostMask { get; set; }
    /// <summary>CR0 read shadow.</summary>
    public uint Cr0ReadShadow { get; set; }
    /// <summary>CR4 bits owned by the VMM.</summary>
    public uint Cr4GuestHostMask { get; set; }
    /// <summary>CR4 read shadow.</summary>
    public uint Cr4ReadShadow { get; set; }
    /// <summary>Ports whose accesses exit (all 65536 ports; set bits exit).</summary>
    public BitArray IoBitmap { get; } = new(65536, true);
    /// <summary>MSRs whose accesses exit.</summary>
    public HashSet<uint> MsrExits { get; } = [];
    /// <summary>When true, every MSR access exits regardless of <see cref="MsrExits"/>.</summary>
    public bool AllMsrsExit { get; set; } = true;

    /// <summary>True if an access to this port (of this size) exits.</summary>
    public bool IoExits(ushort port, int size)
    {
        for (int i = 0; i < size; i++)
            if (IoBitmap[(port + i) & 0xFFFF]) return true;
        return false;
    }

    /// <summary>True if an access to this MSR exits.</summary>
    public bool MsrExitsFor(uint msr) => AllMsrsExit || MsrExits.Contains(msr);
}
