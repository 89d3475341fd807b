using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The guest's virtual privileged state, which a software VMM keeps instead of letting the guest touch the real
/// one: the interrupt flag and IOPL, CR0/CR2/CR3/CR4, GDTR/IDTR, the task register and LDTR (with the guest's
/// descriptors cached, as a CPU caches them), and the SYSENTER MSRs. The control registers drive
/// <see cref="Memory"/>, the guest's own view of its address space.
/// </summary>
/// <remarks>
/// The guest's privilege level is not here: it follows from the real CPL (see <see cref="GuestRings"/>) for
/// engines that deprivilege the guest kernel, and is the real CPL under VMX.
/// </remarks>
public sealed class VirtualCpu
{
    private const uint If = 1u << 9, IoplBits = 3u << 12;
    private const uint Cr0Pe = 1, Cr0Et = 0x10, Cr0Wp = 0x1_0000, Cr0Pg = 0x8000_0000, Cr4Pse = 0x10;

    /// <summary>A virtual CPU over the guest's address space (its controls follow CR0, CR3 and CR4 from now on).</summary>
    public VirtualCpu(GuestAddressSpace memory)
    {
        Memory = memory;
        SetControlRegisters(Cr0Pe | Cr0Et, 0, 0);
    }

    /// <summary>The guest's address space as its CR0/CR3/CR4 define it.</summary>
    public GuestAddressSpace Memory { get; }

    /// <summary>The guest's EFLAGS.IF: whether it accepts interrupts (the real IF stays set while the guest runs).</summary>
    public bool InterruptFlag { get; set; }

    /// <summary>The guest's EFLAGS.IOPL.</summary>
    public int Iopl { get; set; }

    /// <summary>CR0.</summary>
    public uint Cr0 { get; private set; }

    /// <summary>CR2: the linear address of the guest's last page fault.</summary>
    public uint Cr2 { get; set; }

    /// <summary>CR3: the guest's page directory (guest-physical).</summary>
    public uint Cr3 { get; private set; }

    /// <summary>CR4.</summary>
    public uint Cr4 { get; private set; }

    /// <summary>True when the guest has paging on (CR0.PG).</summary>
    public bool PagingEnabled => (Cr0 & Cr0Pg) != 0;

    /// <summary>The guest's GDTR (a guest-linear base).</summary>
    public DescriptorTableRegister Gdtr { get; set; }

    /// <summary>The guest's IDTR (a guest-linear base).</summary>
    public DescriptorTableRegister Idtr { get; set; }

    /// <summary>The guest's task register: its selector and the TSS descriptor it loaded (guest-linear base).</summary>
    public Segment Tr { get; set; }

    /// <summary>The guest's LDTR: its selector and descriptor.</summary>
    public Segment Ldtr { get; set; }

    /// <summary>The guest's IA32_SYSENTER_CS, _ESP and _EIP.</summary>
    public uint SysenterCs { get; set; }

    /// <summary>See <see cref="SysenterCs"/>.</summary>
    public uint SysenterEsp { get; set; }

    /// <summary>See <see cref="SysenterCs"/>.</summary>
    public uint SysenterEip { get; set; }

    /// <summary>Sets CR0 (ET reads as one); updates the guest address space's paging and write-protect controls.</summary>
    public void SetCr0(uint value) => SetControlRegisters(value | Cr0Et, Cr3, Cr4);

    /// <summary>Sets CR3; the guest address space walks the new directory.</summary>
    public void SetCr3(uint value) => SetControlRegisters(Cr0, value, Cr4);

    /// <summary>Sets CR4; updates the guest address space's page-size extensions.</summary>
    public void SetCr4(uint value) => SetControlRegisters(Cr0, Cr3, value);

    private void SetControlRegisters(uint cr0, uint cr3, uint cr4)
    {
        (Cr0, Cr3, Cr4) = (cr0, cr3, cr4);
        Memory.Paging = (cr0 & Cr0Pg) != 0;
        Memory.WriteProtect = (cr0 & Cr0Wp) != 0;
        Memory.Root = cr3;
        Memory.PageSizeExtensions = (cr4 & Cr4Pse) != 0;
    }

    /// <summary>Takes over the state the CPU holds now (e.g. as the multiboot loader left it) as the guest's.</summary>
    public void CaptureFrom(Cpu cpu)
    {
        SetControlRegisters(cpu.Cr0, cpu.Cr3, cpu.Cr4);
        Cr2 = cpu.Cr2;
        InterruptFlag = cpu.InterruptsEnabled;
        Iopl = cpu.Iopl;
        Gdtr = cpu.Gdtr;
        Idtr = cpu.Idtr;
        Tr = cpu.Tr;
        Ldtr = cpu.Ldtr;
        (SysenterCs, SysenterEsp, SysenterEip) = (cpu.SysenterCs, cpu.SysenterEsp, cpu.SysenterEip);
    }

    /// <summary>The EFLAGS image the guest must see for the real EFLAGS: its own IF and IOPL in place of the real ones.</summary>
    public uint GuestFlags(uint realFlags) => (realFlags & ~(If | IoplBits)) | (InterruptFlag ? If : 0) | ((uint)Iopl << 12);

    /// <summary>
    /// The IF and IOPL that popf or iret loading <paramref name="value"/> at guest privilege level
    /// <paramref name="cpl"/> leave: IOPL changes only at CPL 0, IF only when CPL &lt;= IOPL (both lie in the low
    /// 16 bits, so the 16-bit forms load them too).
    /// </summary>
    public (bool InterruptFlag, int Iopl) FlagsAfterLoad(uint value, int cpl)
    {
        bool interruptFlag = cpl <= Iopl ? (value & If) != 0 : InterruptFlag;
        int iopl = cpl == 0 ? (int)(value >> 12) & 3 : Iopl;
        return (interruptFlag, iopl);
    }

    /// <summary>Applies <see cref="FlagsAfterLoad"/>; true if the interrupt flag went from 0 to 1.</summary>
    public bool LoadFlags(uint value, int cpl)
    {
        bool was = InterruptFlag;
        (InterruptFlag, Iopl) = FlagsAfterLoad(value, cpl);
        return !was && InterruptFlag;
    }
}
