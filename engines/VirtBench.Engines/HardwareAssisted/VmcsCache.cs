using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.HardwareAssisted;

/// <summary>
/// The VMM's cache of the VMCS fields it uses often, as KVM caches guest registers (regs_avail, regs_dirty) and
/// the exit qualification: within one exit each field is read at most once (one counted VMREAD), and a changed
/// register is written back once, just before the VM entry (one counted VMWRITE).
/// </summary>
internal sealed class VmcsCache(Vmcs vmcs)
{
    [Flags]
    private enum Fields { None = 0, Rip = 1, Rsp = 2, Rflags = 4, Qualification = 8 }

    private Fields _available, _dirty;
    private uint _rip, _rsp, _rflags, _qualification;

    /// <summary>Guest EIP.</summary>
    public uint Rip { get => Get(Fields.Rip, VmcsField.GuestRip, ref _rip); set => Set(Fields.Rip, ref _rip, value); }

    /// <summary>Guest ESP.</summary>
    public uint Rsp { get => Get(Fields.Rsp, VmcsField.GuestRsp, ref _rsp); set => Set(Fields.Rsp, ref _rsp, value); }

    /// <summary>Guest EFLAGS.</summary>
    public uint Rflags { get => Get(Fields.Rflags, VmcsField.GuestRflags, ref _rflags); set => Set(Fields.Rflags, ref _rflags, value); }

    /// <summary>The exit qualification of the current exit.</summary>
    public uint ExitQualification => Get(Fields.Qualification, VmcsField.ExitQualification, ref _qualification);

    /// <summary>A VM exit happened: nothing cached is current any more.</summary>
    public void Invalidate() => _available = Fields.None;

    /// <summary>Writes the changed registers back to the VMCS (before a VM entry, or before the VMM blocks).</summary>
    public void Flush()
    {
        if ((_dirty & Fields.Rip) != 0) vmcs.Write(VmcsField.GuestRip, _rip);
        if ((_dirty & Fields.Rsp) != 0) vmcs.Write(VmcsField.GuestRsp, _rsp);
        if ((_dirty & Fields.Rflags) != 0) vmcs.Write(VmcsField.GuestRflags, _rflags);
        _dirty = Fields.None;
    }

    private uint Get(Fields field, VmcsField source, ref uint value)
    {
        if ((_available & field) == 0)
        {
            value = vmcs.Read(source);
            _available |= field;
        }
        return value;
    }

    private void Set(Fields field, ref uint slot, uint value)
    {
        slot = value;
        _available |= field;
        _dirty |= field;
    }
}
