using Iced.Intel;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel.PvOps;

/// <summary>The native flavor: each operation is the privileged instruction itself, as on bare metal.</summary>
internal sealed class NativePvOps : PvOps
{
    private const uint Cr0Paging = 0x8000_0000, Cr0WriteProtect = 0x0001_0000;
    private const int TssEsp0 = 4;

    /// <inheritdoc />
    public override KernelFlavor Flavor => KernelFlavor.Native;

    /// <inheritdoc />
    public override void LoadDescriptorTables(uint gdtPointer, uint idtPointer, ushort tssSelector) => Op("load_descriptor_tables", () =>
    {
        A.lgdt(__[gdtPointer]);
        A.jmp(Selector.KernelCode, K.Addr("pvops.cs_reloaded"));
        K.Bind("pvops.cs_reloaded");
        A.push(eax);
        A.mov(eax, Selector.KernelData);
        A.mov(ss, eax);
        A.mov(eax, Selector.UserData);
        A.mov(ds, eax);
        A.mov(es, eax);
        A.mov(fs, eax);
        A.mov(gs, eax);
        A.lidt(__[idtPointer]);
        A.mov(eax, tssSelector);
        A.ltr(eax);
        A.pop(eax);
    });

    /// <inheritdoc />
    public override void EnablePaging(AssemblerRegister32 directory) => Op("enable_paging", () =>
    {
        A.push(eax);
        A.mov(cr3, directory);
        A.mov(eax, cr0);
        A.or(eax, unchecked((int)(Cr0Paging | Cr0WriteProtect)));
        A.mov(cr0, eax);
        A.pop(eax);
    });

    /// <inheritdoc />
    public override void LoadCr3(AssemblerRegister32 directory) => Op("load_cr3", () => A.mov(cr3, directory));

    /// <inheritdoc />
    public override void ReadFaultAddress(AssemblerRegister32 destination) => Op("read_cr2", () => A.mov(destination, cr2));

    /// <inheritdoc />
    public override void SetKernelStack(AssemblerRegister32 top) => Op("set_kernel_stack", () => A.mov(__dword_ptr[K.Addr("tss") + TssEsp0], top));

    /// <inheritdoc />
    public override void WriteMsr(uint msr, uint value) => Op("write_msr", () =>
    {
        A.mov(ecx, msr);
        A.mov(eax, value);
        A.xor(edx, edx);
        A.wrmsr();
    });

    /// <inheritdoc />
    public override void SetEntry(AssemblerRegister32 entry, AssemblerRegister32 value) => Op("set_entry", () => A.mov(__dword_ptr[entry], value));

    /// <inheritdoc />
    public override void BeginBatch() { }

    /// <inheritdoc />
    public override void QueueEntry(AssemblerRegister32 entry, AssemblerRegister32 value) => Op("queue_entry", () => A.mov(__dword_ptr[entry], value));

    /// <inheritdoc />
    public override void EndBatch() { }

    /// <inheritdoc />
    public override void FlushTlbEntry(AssemblerRegister32 linear) => Op("flush_tlb_entry", () => A.invlpg(__[linear]));

    /// <inheritdoc />
    public override void FlushTlbAll() => Op("flush_tlb_all", () =>
    {
        A.push(eax);
        A.mov(eax, cr3);
        A.mov(cr3, eax);
        A.pop(eax);
    });

    /// <inheritdoc />
    public override void NotifyPageTableAlloc(AssemblerRegister32 frame, PageTableLevel level) { }

    /// <inheritdoc />
    public override void NotifyPageTableRelease(AssemblerRegister32 frame, PageTableLevel level) { }

    /// <inheritdoc />
    public override void IrqDisable() => Op("irq_disable", () => A.cli());

    /// <inheritdoc />
    public override void IrqEnable() => Op("irq_enable", () => A.sti());

    /// <inheritdoc />
    public override void IrqSave(AssemblerRegister32 flags) => Op("irq_save", () =>
    {
        A.pushfd();
        A.pop(flags);
        A.cli();
    });

    /// <inheritdoc />
    public override void IrqRestore(AssemblerRegister32 flags) => Op("irq_restore", () =>
    {
        A.push(flags);
        A.popfd();
    });

    /// <inheritdoc />
    public override void Halt() => Op("halt", () =>
    {
        A.sti();
        A.hlt();
    });

    /// <inheritdoc />
    public override void InterruptReturn() => Op("iret", () => A.iretd());

    /// <inheritdoc />
    public override void SysExit() => Op("sysexit", () =>
    {
        A.sti();
        A.sysexit();
    });

    /// <inheritdoc />
    public override void PortIn8() => Op("port_in8", () => A.@in(al, dx));

    /// <inheritdoc />
    public override void PortOut8() => Op("port_out8", () => A.@out(dx, al));

    /// <inheritdoc />
    public override void PortOut32() => Op("port_out32", () => A.@out(dx, eax));
}
