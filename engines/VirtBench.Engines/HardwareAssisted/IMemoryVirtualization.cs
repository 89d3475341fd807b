using VirtBench.Engines.Vmm;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// How the VT-x VMM virtualizes guest memory: the one part in which hw-ept (nested paging) and hw-shadow (shadow
/// page tables) differ. The rest of the VMM (exit dispatch, device, CPUID, MSR, control-register and interrupt
/// handling) is shared.
/// </summary>
internal interface IMemoryVirtualization
{
    /// <summary>Machine memory the strategy needs above guest RAM (its tables), for a guest of this size.</summary>
    uint VmmBytes(uint guestRamBytes);

    /// <summary>Places its tables in the VMM region, through the VMM's allocator.</summary>
    void Allocate(VmmMemory vmm);

    /// <summary>
    /// Adds what it relies on to the launch configuration: EPT and unrestricted guest; or CR3-load/store and
    /// invlpg exiting, #PF in the exception bitmap, and the CR0/CR4 bits whose changes it must see.
    /// </summary>
    void Configure(VmxSetup setup);

    /// <summary>
    /// Just before VMLAUNCH, with the guest's control registers as the loader left them (its view): points the MMU
    /// at what the strategy's translation starts from (nested paging has nothing to do: the EPT pointer is set).
    /// </summary>
    void Launch(Vcpu vcpu, uint guestCr0, uint guestCr3, uint guestCr4);

    /// <summary>
    /// The CR0 the guest runs with for the CR0 it asked for (its view, which the read shadow shows it): VMX fixes
    /// NE to 1; shadow paging also keeps PG and PE on to walk its shadow when the guest's paging is off.
    /// </summary>
    uint RealCr0(uint guestCr0);

    /// <summary>
    /// Handles an exit that belongs to memory virtualization (an EPT violation; a CR3 access, invlpg or #PF under
    /// shadow paging). False if the exit is not its own; the shared VMM then handles it.
    /// </summary>
    bool TryHandleExit(Vcpu vcpu, VmExitReason reason);

    /// <summary>
    /// The guest's paging controls (CR0.PG, PE or WP, CR4.PSE) changed through a control-register exit the VMM
    /// emulated. <paramref name="guestCr0"/> and <paramref name="guestCr4"/> are the guest's view (exact for the
    /// bits the VMM owns, which include every bit a strategy asks to own).
    /// </summary>
    void PagingControlsChanged(Vcpu vcpu, uint guestCr0, uint guestCr4);
}
