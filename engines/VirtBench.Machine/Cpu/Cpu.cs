using System.Runtime.CompilerServices;
using VirtBench.Machine.Devices;
using VirtBench.Machine.Memory;
using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu;

/// <summary>
/// An IA-32 CPU (protected mode, 32-bit code) executing instructions decoded by Iced. It enforces the x86
/// rules (privilege levels, descriptors, gates, paging) and counts what it retires. Engines attach an
/// <see cref="IMonitor"/> and set the controls in <see cref="Monitor"/>'s namespace to take over at the
/// slow-path seams of DESIGN.md section 4; the hot loop never calls them.
/// </summary>
/// <remarks>
/// The state is in this file; memory access, lazy flags, protection and the run loop are in the other
/// <c>Cpu.*.cs</c> files, and instruction semantics in <c>Execute/</c>, one file per family.
/// </remarks>
public sealed partial class Cpu
{
    internal RegisterFile Regs;
    internal SegmentFile Segs;
    internal LazyFlags Lazy;
    internal uint FlagsRest = (uint)FlagBits.Reserved1;   // every EFLAGS bit except OSZAPC

    internal readonly PhysicalMemory Memory;
    internal readonly ulong[] Counts;
    internal readonly IoBus Io;

    /// <summary>Builds a CPU in the state multiboot leaves it in after <see cref="Reset"/>.</summary>
    internal Cpu(PhysicalMemory memory, Counters counters, IoBus io, int tlbEntries)
    {
        Memory = memory;
        Counters = counters;
        Counts = counters.Raw;
        Io = io;
        Mmu = new Mmu(memory, counters, tlbEntries);
        _fast = Mmu.FastSupervisor.Entries;
        Cache = new DecodeCache(this);
        Reset();
    }

    /// <summary>The run's counters (shared with the engine).</summary>
    public Counters Counters { get; }

    /// <summary>The paging unit.</summary>
    public Mmu Mmu { get; }

    internal DecodeCache Cache { get; }

    /// <summary>Instruction pointer (an offset in CS, or a machine address in the translation cache).</summary>
    public uint Eip;

    /// <summary>Current privilege level.</summary>
    public int Cpl { get; private set; }

    /// <summary>CR0 (PE, MP, EM, TS, ET, NE, WP, AM, NW, CD, PG).</summary>
    public uint Cr0 { get; private set; }

    /// <summary>CR2: the linear address of the last page fault.</summary>
    public uint Cr2;

    /// <summary>CR3: the page directory base the guest loaded (the MMU may walk another root under a VMM).</summary>
    public uint Cr3 { get; private set; }

    /// <summary>CR4 (only PSE has an effect here).</summary>
    public uint Cr4 { get; private set; }

    /// <summary>GDTR.</summary>
    public DescriptorTableRegister Gdtr;

    /// <summary>IDTR.</summary>
    public DescriptorTableRegister Idtr;

    /// <summary>LDTR (selector and cached descriptor).</summary>
    public Segment Ldtr;

    /// <summary>Task register (selector and cached TSS descriptor).</summary>
    public Segment Tr;

    /// <summary>IA32_SYSENTER_CS, _ESP and _EIP.</summary>
    public uint SysenterCs, SysenterEsp, SysenterEip;

    /// <summary>The engine's monitor, or null on bare metal.</summary>
    public IMonitor? Monitor { get; set; }

    /// <summary>What unprivileged sensitive instructions do at CPL &gt; 0 (see <see cref="SensitiveMode"/>).</summary>
    public SensitiveMode SensitiveInstructions { get; set; }

    /// <summary>
    /// Machine address of the translation cache's current instruction when executing translated code
    /// (the second instruction source), else null: EIP is then a machine address, not an offset in CS.
    /// </summary>
    public bool InTranslationCache { get; private set; }

    /// <summary>
    /// Vectors the monitor does not intercept: exceptions and software interrupts on these vectors go straight
    /// through the IDT even when a monitor is attached (e.g. a paravirtual guest's fast system-call gate).
    /// </summary>
    public bool[] DirectVectors { get; } = new bool[256];

    /// <summary>External interrupts go to <see cref="IMonitor.OnExternalInterrupt"/> instead of the IDT.</summary>
    public bool ExternalInterruptsToMonitor { get; set; }

    /// <summary>Set by a monitor to hold back external interrupts (e.g. while the guest's virtual IF is clear).</summary>
    public bool ExternalInterruptsMasked { get; set; }

    /// <summary>The interrupt controller whose INTR line the CPU samples.</summary>
    internal Pic8259? InterruptController { get; set; }

    /// <summary>
    /// Simulated time: instructions retired, plus idle time skipped in hlt, plus the elements of rep string
    /// instructions beyond the first (a rep instruction retires once but takes one tick per element).
    /// </summary>
    public ulong Ticks { get; internal set; }

    /// <summary>Instructions retired.</summary>
    public ulong Retired { get; internal set; }

    /// <summary>True while halted in hlt, waiting for an interrupt.</summary>
    public bool Halted { get; set; }

    // The fast TLB of the current privilege class (user when CPL = 3).
    private FastTlb.Entry[] _fast;

    /// <summary>A general-purpose register.</summary>
    public uint this[Reg r]
    {
        get => Regs[(int)r];
        set => Regs[(int)r] = value;
    }

    /// <summary>EAX.</summary>
    public uint Eax { get => Regs[0]; set => Regs[0] = value; }
    /// <summary>ECX.</summary>
    public uint Ecx { get => Regs[1]; set => Regs[1] = value; }
    /// <summary>EDX.</summary>
    public uint Edx { get => Regs[2]; set => Regs[2] = value; }
    /// <summary>EBX.</summary>
    public uint Ebx { get => Regs[3]; set => Regs[3] = value; }
    /// <summary>ESP.</summary>
    public uint Esp { get => Regs[4]; set => Regs[4] = value; }
    /// <summary>EBP.</summary>
    public uint Ebp { get => Regs[5]; set => Regs[5] = value; }
    /// <summary>ESI.</summary>
    public uint Esi { get => Regs[6]; set => Regs[6] = value; }
    /// <summary>EDI.</summary>
    public uint Edi { get => Regs[7]; set => Regs[7] = value; }

    /// <summary>EFLAGS, with the lazy arithmetic flags materialized. Setting it stores every bit as given.</summary>
    public uint Eflags
    {
        get => FlagsRest | Lazy.Materialize() | (uint)FlagBits.Reserved1;
        set
        {
            FlagsRest = (value & ~(uint)FlagBits.Arithmetic & ValidFlags) | (uint)FlagBits.Reserved1;
            Lazy.SetKnown(value);
        }
    }

    /// <summary>Bits of EFLAGS this CPU implements (no VM86, VIF/VIP).</summary>
    internal const uint ValidFlags = 0x0025_7FD5 & ~(uint)FlagBits.VM;

    /// <summary>The interrupt flag.</summary>
    public bool InterruptsEnabled => (FlagsRest & (uint)FlagBits.IF) != 0;

    /// <summary>IOPL.</summary>
    public int Iopl => (int)(FlagsRest >> 12) & 3;

    /// <summary>A segment register's cache.</summary>
    public ref Segment Segment(SegReg s) => ref Segs[(int)s];

    /// <summary>Resets to the state multiboot specifies: flat 32-bit protected mode, paging off, interrupts off.</summary>
    public void Reset()
    {
        for (int i = 0; i < RegisterFile.Count; i++) Regs[i] = 0;
        Eip = 0;
        Eflags = (uint)FlagBits.Reserved1;
        Cr0 = 0x11; // PE | ET, as QEMU leaves it
        Cr2 = Cr3 = Cr4 = 0;
        Mmu.SetControls(false, false, false);
        Segs[(int)SegReg.Cs] = Machine.Cpu.Segment.Flat(0x08, 0xC09B);
        foreach (var s in new[] { SegReg.Ds, SegReg.Es, SegReg.Fs, SegReg.Gs, SegReg.Ss })
            Segs[(int)s] = Machine.Cpu.Segment.Flat(0x10, 0xC093);
        Gdtr = Idtr = default;
        Ldtr = Tr = default;
        SetCpl(0);
        InTranslationCache = false;
        Halted = false;
    }

    /// <summary>Changes CPL (and with it the privilege class of memory accesses).</summary>
    internal void SetCpl(int cpl)
    {
        Cpl = cpl;
        Mmu.Epoch++; // fetch permissions and the code segment may differ: chained blocks must be looked up again
        _fast = Mmu.FastFor(cpl == 3).Entries;
        _modeBase = Counters.InstructionIndex(InTranslationCache ? ExecutionMode.Translated : (ExecutionMode)cpl, 0);
    }

    // Index in Counts of (current execution mode, mnemonic 0).
    private int _modeBase;

    /// <summary>Writes CR0 (updates paging controls; flushes the TLB when they change).</summary>
    public void SetCr0(uint value)
    {
        Cr0 = value | 0x10; // ET is hard-wired to 1
        Mmu.SetControls((value & 0x8000_0000) != 0, (value & 0x1_0000) != 0, (Cr4 & 0x10) != 0);
    }

    /// <summary>Writes CR3. Unless a VMM owns the page-table root, the MMU walks the new directory (and flushes).</summary>
    public void SetCr3(uint value)
    {
        Cr3 = value;
        if (!MonitorOwnsPageTableRoot) Mmu.SetRoot(value);
        else Mmu.FlushAll();
    }

    /// <summary>Writes CR4.</summary>
    public void SetCr4(uint value)
    {
        Cr4 = value;
        Mmu.SetControls((Cr0 & 0x8000_0000) != 0, (Cr0 & 0x1_0000) != 0, (value & 0x10) != 0);
    }

    /// <summary>
    /// When true, CR3 writes by the guest do not repoint the MMU: a VMM walks its own tables (shadow or
    /// nested) and calls <see cref="Mmu.SetRoot"/> itself.
    /// </summary>
    public bool MonitorOwnsPageTableRoot { get; set; }

    /// <summary>
    /// Switches instruction fetch to the translation cache: EIP becomes a machine address from which code is
    /// fetched directly (no segmentation, no paging), while data accesses still use the guest's segments and
    /// the MMU. <paramref name="machineAddress"/> is where to continue.
    /// </summary>
    public void EnterTranslationCache(uint machineAddress)
    {
        InTranslationCache = true;
        Eip = machineAddress;
        SetCpl(Cpl);
    }

    /// <summary>Returns instruction fetch to CS:EIP at <paramref name="eip"/>.</summary>
    public void LeaveTranslationCache(uint eip)
    {
        InTranslationCache = false;
        Eip = eip;
        SetCpl(Cpl);
    }

    /// <summary>Loads a segment register's cache directly (for loaders and VMMs; no checks).</summary>
    public void LoadSegmentCache(SegReg reg, in Segment segment)
    {
        Segs[(int)reg] = segment;
        Segs[(int)reg].UpdateFastLimits();
        if (reg == SegReg.Cs && !InTranslationCache) SetCpl(segment.Selector & 3);
    }

    /// <summary>Sets CPL directly (for VMMs that load CS themselves).</summary>
    public void ForceCpl(int cpl) => SetCpl(cpl);
}

/// <summary>GDTR or IDTR: a linear base and a limit.</summary>
public record struct DescriptorTableRegister(uint Base, ushort Limit);
