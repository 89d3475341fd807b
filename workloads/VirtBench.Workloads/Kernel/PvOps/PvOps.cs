using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Workloads.Assembly;

namespace VirtBench.Workloads.Kernel.PvOps;

/// <summary>Which level a page-table page has, for the allocation notifications.</summary>
internal enum PageTableLevel
{
    /// <summary>A page directory (the root the CPU walks from CR3).</summary>
    Directory,
    /// <summary>A page table (4 KiB pages).</summary>
    Table,
}

/// <summary>
/// The pv-ops seam (Linux's paravirt_ops): the only place that emits the kernel's privileged and sensitive
/// operations. Each operation is emitted inline at its call site and recorded as a tagged range, so a test can
/// prove that no privileged instruction exists elsewhere in the kernel. The native flavor emits the instructions;
/// a paravirtual flavor emits hypercalls (<c>int 0x82</c>, call number in EAX) and shared-page operations.
/// </summary>
/// <remarks>
/// Register contract: an operation reads only the registers it is given and changes only those it documents
/// (flags excepted); an implementation that needs scratch registers saves them itself.
/// </remarks>
internal abstract class PvOps
{
    /// <summary>The tag prefix of every range emitted through this seam.</summary>
    public const string TagPrefix = "pvops.";

    private CodeBuilder? _k;

    /// <summary>The kernel flavor this implementation builds.</summary>
    public abstract KernelFlavor Flavor { get; }

    /// <summary>The builder the operations are emitted into.</summary>
    protected CodeBuilder K => _k ?? throw new InvalidOperationException("pv-ops used before Attach");

    /// <summary>The raw assembler.</summary>
    protected Assembler A => K.A;

    /// <summary>Starts emitting into a builder (one per pass).</summary>
    public void Attach(CodeBuilder builder) => _k = builder;

    /// <summary>Emits routines the operations call (hypercall helpers, batch buffers); nothing natively.</summary>
    public virtual void EmitSupport() { }

    /// <summary>Emits one operation as a tagged range.</summary>
    protected void Op(string name, Action body) => K.Tagged(TagPrefix + name, body);

    // ---- processor control ----

    /// <summary>Loads the descriptor tables: GDT (reloading every segment register to the flat kernel/user ones), IDT, TR.</summary>
    public abstract void LoadDescriptorTables(uint gdtPointer, uint idtPointer, ushort tssSelector);

    /// <summary>Turns paging on with the page directory at physical address <paramref name="directory"/>, CR0.WP set.</summary>
    public abstract void EnablePaging(AssemblerRegister32 directory);

    /// <summary>Switches address space: CR3 = <paramref name="directory"/> (flushes the TLB).</summary>
    public abstract void LoadCr3(AssemblerRegister32 directory);

    /// <summary>Reads the faulting linear address of the current page fault into <paramref name="destination"/>.</summary>
    public abstract void ReadFaultAddress(AssemblerRegister32 destination);

    /// <summary>Sets the stack the CPU switches to on entry from user mode (TSS.ESP0).</summary>
    public abstract void SetKernelStack(AssemblerRegister32 top);

    /// <summary>Writes a model-specific register (sysenter setup): MSR[<paramref name="msr"/>] = <paramref name="value"/>. Clobbers EAX, ECX, EDX.</summary>
    public abstract void WriteMsr(uint msr, uint value);

    // ---- page tables ----

    /// <summary>Writes one live page-table or page-directory entry: [<paramref name="entry"/>] = <paramref name="value"/>.</summary>
    public abstract void SetEntry(AssemblerRegister32 entry, AssemblerRegister32 value);

    /// <summary>Starts a batch of entry updates (lazy MMU mode); updates may be deferred until <see cref="EndBatch"/>.</summary>
    public abstract void BeginBatch();

    /// <summary>Queues one entry update inside a batch: [<paramref name="entry"/>] = <paramref name="value"/>.</summary>
    public abstract void QueueEntry(AssemblerRegister32 entry, AssemblerRegister32 value);

    /// <summary>Ends a batch: every queued update is in effect afterwards.</summary>
    public abstract void EndBatch();

    /// <summary>Flushes the TLB entry of the linear address in <paramref name="linear"/>.</summary>
    public abstract void FlushTlbEntry(AssemblerRegister32 linear);

    /// <summary>Flushes the whole (non-global) TLB of the current address space.</summary>
    public abstract void FlushTlbAll();

    /// <summary>
    /// A zeroed-and-initialised page becomes a page table or directory (paravirt_alloc_pte/pgd). From here on its
    /// entries change only through <see cref="SetEntry"/> or a batch.
    /// </summary>
    public abstract void NotifyPageTableAlloc(AssemblerRegister32 frame, PageTableLevel level);

    /// <summary>A page table or directory is about to be freed (paravirt_release_pte/pgd); it is no longer referenced.</summary>
    public abstract void NotifyPageTableRelease(AssemblerRegister32 frame, PageTableLevel level);

    // ---- interrupt flag ----

    /// <summary>Disables maskable interrupts (local_irq_disable).</summary>
    public abstract void IrqDisable();

    /// <summary>Enables maskable interrupts (local_irq_enable).</summary>
    public abstract void IrqEnable();

    /// <summary>Saves the interrupt state into <paramref name="flags"/> and disables interrupts (local_irq_save).</summary>
    public abstract void IrqSave(AssemblerRegister32 flags);

    /// <summary>Restores the interrupt state saved by <see cref="IrqSave"/> (local_irq_restore).</summary>
    public abstract void IrqRestore(AssemblerRegister32 flags);

    /// <summary>Idles until the next interrupt, with interrupts enabled while waiting (safe_halt); returns with them enabled.</summary>
    public abstract void Halt();

    // ---- returns ----

    /// <summary>Returns from an interrupt or exception frame on the stack (to user or kernel mode).</summary>
    public abstract void InterruptReturn();

    /// <summary>Fast return to user mode after sysenter: EIP = EDX, ESP = ECX, interrupts enabled.</summary>
    public abstract void SysExit();

    // ---- port I/O (value in AL/EAX, port in DX) ----

    /// <summary>AL = byte read from port DX. Changes EAX bits 0-7 only.</summary>
    public abstract void PortIn8();

    /// <summary>Writes AL to port DX.</summary>
    public abstract void PortOut8();

    /// <summary>Writes EAX to port DX (the bench port protocol).</summary>
    public abstract void PortOut32();
}
