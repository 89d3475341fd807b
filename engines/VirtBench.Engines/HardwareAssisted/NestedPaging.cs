using VirtBench.Engines.Vmm;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// Memory virtualization by nested paging (EPT, hw-ept): the guest owns its page tables, so its CR3 loads,
/// invlpg, page-table writes and page faults never exit; every TLB miss is a two-dimensional walk through the
/// guest's tables and the VMM's nested tables. The VMM only fills the nested tables, on EPT violations.
/// </summary>
internal sealed class NestedPaging : IMemoryVirtualization
{
    private const uint Cr0Ne = 0x20;

    private NestedPageTables? _tables;

    /// <summary>The nested tables (after <see cref="Allocate"/>).</summary>
    public NestedPageTables Tables => _tables ?? throw new InvalidOperationException("nested tables not allocated yet");

    /// <inheritdoc />
    public uint VmmBytes(uint guestRamBytes) => NestedPageTables.BytesFor(guestRamBytes);

    /// <inheritdoc />
    public void Allocate(VmmMemory vmm) =>
        _tables = new NestedPageTables(vmm.Memory, vmm.Allocate(NestedPageTables.BytesFor(vmm.Memory.GuestRamBytes)));

    /// <inheritdoc />
    public void Configure(VmxSetup setup)
    {
        // Unrestricted guest: the kernel boots with paging off and turns it on itself, as on bare metal.
        setup.Secondary |= SecondaryControls.EnableEpt | SecondaryControls.UnrestrictedGuest;
        setup.EptPointer = Tables.Root;
    }

    /// <inheritdoc />
    public void Launch(Vcpu vcpu, uint guestCr0, uint guestCr3, uint guestCr4)
    {
        // The guest's CR3 and paging controls take effect in its own walks; the EPT pointer is in the VMCS already.
    }

    /// <inheritdoc />
    public uint RealCr0(uint guestCr0) => guestCr0 | Cr0Ne;

    /// <inheritdoc />
    public bool TryHandleExit(Vcpu vcpu, VmExitReason reason)
    {
        if (reason != VmExitReason.EptViolation) return false;
        uint gpa = vcpu.Vmcs.Read(VmcsField.GuestPhysicalAddress);
        var access = EptViolationQualification.Decode(vcpu.Cache.ExitQualification);
        if (gpa >= vcpu.Pc.Memory.GuestRamBytes)
        {
            // Never map what is not guest RAM: the frame could be the VMM's own (its tables are right above RAM).
            string kind = access.Fetch ? "executes" : access.Write ? "writes" : "reads";
            vcpu.Stop($"the guest {kind} guest-physical 0x{gpa:x8}, outside its {vcpu.Pc.Memory.GuestRamBytes >> 20} MiB of RAM: this VMM emulates no memory-mapped device there");
            return true;
        }
        Tables.MapIdentity(gpa);
        return true;
    }

    /// <inheritdoc />
    public void PagingControlsChanged(Vcpu vcpu, uint guestCr0, uint guestCr4)
    {
        // The guest's paging controls take effect in its own walks; the nested tables do not depend on them.
    }
}
