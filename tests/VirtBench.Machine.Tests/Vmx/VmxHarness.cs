using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Tests.Vmx;

/// <summary>
/// Runs a test image in VMX non-root mode under a minimal VMM: nested tables that identity-map guest RAM,
/// unrestricted guest (the image runs with paging off), VPID, CR0.NE owned by the VMM (fixed to 1 in VMX
/// operation, hidden from the guest by the read shadow). Every exit is recorded; a handler may resume the guest,
/// otherwise the run stops at the exit.
/// </summary>
internal sealed class VmxHarness : IMonitor
{
    private const uint Cr0Ne = 0x20;

    private VmxHarness(Pc pc)
    {
        Pc = pc;
        Vmcs = new Vmcs(pc.Cpu);
    }

    public Pc Pc { get; }

    public Vmcs Vmcs { get; }

    /// <summary>Every exit, in order.</summary>
    public List<VmExit> Exits { get; } = [];

    /// <summary>Handles an exit; returns true to resume the guest, false to stop the run there.</summary>
    public Func<VmxHarness, VmExit, bool>? Handler { get; set; }

    /// <summary>Machine address of the nested page directory (its tables follow, one per 4 MiB of guest RAM).</summary>
    public uint NestedDirectory => Pc.Memory.VmmBase;

    /// <summary>Machine addresses of I/O bitmaps A and B and of the MSR bitmap (zeroed: nothing exits until bits are set).</summary>
    public uint IoBitmapA => NestedDirectory + 4096 * (1 + Pc.Memory.GuestRamBytes / (4u << 20));

    /// <summary>See <see cref="IoBitmapA"/>.</summary>
    public uint IoBitmapB => IoBitmapA + 4096;

    /// <summary>See <see cref="IoBitmapA"/>.</summary>
    public uint MsrBitmap => IoBitmapA + 8192;

    /// <summary>Sets a bit in a bitmap in machine memory.</summary>
    public void SetBit(uint bitmap, uint index) =>
        Pc.Memory.Write8(bitmap + index / 8, (byte)(Pc.Memory.Read8(bitmap + index / 8) | 1 << (int)(index & 7)));

    /// <summary>Builds the machine, configures the VMCS (then <paramref name="configure"/>) and launches the guest; call <see cref="Pc.Run"/>.</summary>
    public static VmxHarness Launch(GuestImage image, Action<VmxHarness>? configure = null, MachineOptions? options = null)
    {
        options ??= new MachineOptions();
        uint ram = options.RamBytes;
        var pc = new Pc(image, options with { VmmBytes = 4096 * (1 + ram / (4u << 20)) + 3 * 4096 });
        var h = new VmxHarness(pc);
        h.MapGuestRam();
        var v = h.Vmcs;
        v.Write(VmcsField.ProcessorBasedControls, (uint)ProcessorBasedControls.ActivateSecondaryControls);
        v.Write(VmcsField.SecondaryControls, (uint)(SecondaryControls.EnableEpt | SecondaryControls.UnrestrictedGuest | SecondaryControls.EnableVpid));
        v.Write(VmcsField.EptPointer, h.NestedDirectory);
        v.Write(VmcsField.IoBitmapA, h.IoBitmapA);
        v.Write(VmcsField.IoBitmapB, h.IoBitmapB);
        v.Write(VmcsField.MsrBitmap, h.MsrBitmap);
        v.Write(VmcsField.Cr0GuestHostMask, Cr0Ne);
        v.Write(VmcsField.Cr0ReadShadow, pc.Cpu.Cr0 & Cr0Ne);
        v.Write(VmcsField.GuestCr0, pc.Cpu.Cr0 | Cr0Ne);
        configure?.Invoke(h);
        pc.Cpu.Monitor = h;
        pc.Cpu.Launch(v);
        return h;
    }

    /// <summary>Sets or clears controls in a control field.</summary>
    public void SetControls(VmcsField field, uint bits, bool on = true)
    {
        uint value = Vmcs.Inspect(field);
        Vmcs.Write(field, on ? value | bits : value & ~bits);
    }

    /// <summary>Identity-maps guest RAM in the nested tables (present, writable).</summary>
    public void MapGuestRam()
    {
        var memory = Pc.Memory;
        for (uint gpa = 0; gpa < memory.GuestRamBytes; gpa += 4096) Map(gpa, writable: true);
    }

    /// <summary>Maps one guest-physical page to the same machine page.</summary>
    public void Map(uint gpa, bool writable)
    {
        var memory = Pc.Memory;
        uint pdeAddress = NestedDirectory + (gpa >> 22) * 4;
        uint pde = memory.Read32(pdeAddress);
        if ((pde & 1) == 0)
        {
            pde = NestedDirectory + 4096 * (1 + (gpa >> 22)) | 3;
            memory.Write32(pdeAddress, pde);
        }
        memory.Write32((pde & ~0xFFFu) + ((gpa >> 12) & 0x3FF) * 4, (gpa & ~0xFFFu) | (writable ? 3u : 1u));
    }

    /// <summary>Removes one guest-physical page from the nested tables and invalidates translations through it (INVEPT).</summary>
    public void Unmap(uint gpa)
    {
        var memory = Pc.Memory;
        uint pde = memory.Read32(NestedDirectory + (gpa >> 22) * 4);
        memory.Write32((pde & ~0xFFFu) + ((gpa >> 12) & 0x3FF) * 4, 0);
        Pc.Cpu.Mmu.FlushAll();
    }

    /// <summary>
    /// A handler that completes every exiting instruction by skipping it, except that port writes reach the
    /// devices (so the guest's isa-debug-exit write still ends the run).
    /// </summary>
    public static bool SkipWritingPorts(VmxHarness h, VmExit e)
    {
        if (e.Reason == VmExitReason.IoInstruction && IoQualification.Decode(e.Qualification) is { In: false, String: false } io)
            h.Pc.Bus.Write(io.Port, io.Size, h.Pc.Cpu.Eax & (io.Size == 4 ? 0xFFFF_FFFF : (1u << (8 * io.Size)) - 1));
        h.Skip(e);
        return true;
    }

    /// <summary>Advances the guest past the exiting instruction, as a VMM does after emulating it.</summary>
    public void Skip(VmExit exit) => Vmcs.Write(VmcsField.GuestRip, Vmcs.Read(VmcsField.GuestRip) + (uint)exit.InstructionLength);

    public Disposition OnException(Cpu.Cpu cpu, in GuestException exception) => Disposition.Deliver;

    public void OnExternalInterrupt(Cpu.Cpu cpu) { }

    public void OnSensitiveInstruction(Cpu.Cpu cpu, in SensitiveInstruction instruction) { }

    public void OnVmExit(Cpu.Cpu cpu, in VmExit exit)
    {
        Exits.Add(exit);
        if (Handler?.Invoke(this, exit) != true)
            cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"stopped at exit {Exits.Count}: {exit.Reason}"));
    }
}
