using Iced.Intel;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Workloads.Kernel.PvOps;

/// <summary>
/// The paravirtual flavor (Linux's pv-ops on 32-bit Xen): every privileged operation is a hypercall (<c>int 0x82</c>,
/// call number in EAX, arguments in EBX, ECX, EDX, ESI, EDI, result in EAX) or a plain memory operation on the
/// shared-info page (the event mask is the virtual interrupt flag; the fault address of a bounced page fault). Page-table
/// updates are queued and sent in one mmu_update per batch; pins wait behind them and go with the next mmuext_op (a
/// base switch or a TLB flush). Port I/O becomes a request on the shared device ring plus a notification. The return to user
/// mode unmasks events and irets directly from ring 1 unless an event is pending. The routines the operations call
/// are in <c>ParavirtualPvOps.Support.cs</c>; the protocol is docs/paravirt.md.
/// </summary>
/// <remarks>
/// Page-table pointers the kernel passes are addresses in its identity map, so they are their own machine addresses.
/// Page-table pages are kept read-only in the kernel's identity map from allocation to release, as Xen requires.
/// </remarks>
internal sealed partial class ParavirtualPvOps : PvOps
{
    private const uint SharedPage = SharedInfo.LinearAddress;
    private const uint UserEflags = 0x202;

    /// <summary>The ring-1 kernel selectors: the kernel's own with RPL 1.</summary>
    private const ushort KernelCs = Selector.KernelCode | 1, KernelSs = Selector.KernelData | 1;

    private uint? _sysenterCs;

    /// <inheritdoc />
    public override KernelFlavor Flavor => KernelFlavor.Paravirtual;

    // The shared page is reached through SS: on the way back to user mode DS already holds the user's selector
    // (which may be null), as Linux's xen_iret does with %ss: overrides.
    private static AssemblerMemoryOperand EventMask => __byte_ptr.ss[SharedPage + SharedInfo.UpcallMask];
    private static AssemblerMemoryOperand EventPending => __byte_ptr.ss[SharedPage + SharedInfo.UpcallPending];

    // ---- processor control ----

    /// <inheritdoc />
    public override void LoadDescriptorTables(uint gdtPointer, uint idtPointer, ushort tssSelector) => Op("load_descriptor_tables", () =>
    {
        A.pushad();
        A.mov(esi, gdtPointer);
        A.mov(edi, idtPointer);
        K.Call("pv_load_descriptor_tables");
        A.popad();
    });

    /// <inheritdoc />
    public override void EnablePaging(AssemblerRegister32 directory) => CallWith("enable_paging", directory, "pv_enable_paging");

    /// <inheritdoc />
    public override void LoadCr3(AssemblerRegister32 directory) => CallWith("load_cr3", directory, "pv_load_cr3");

    /// <inheritdoc />
    public override void ReadFaultAddress(AssemblerRegister32 destination) =>
        Op("read_cr2", () => A.mov(destination, __dword_ptr.ss[SharedPage + SharedInfo.Cr2]));

    /// <inheritdoc />
    public override void SetKernelStack(AssemblerRegister32 top) => CallWith("set_kernel_stack", top, "pv_stack_switch");

    /// <summary>
    /// Only the sysenter MSRs: SYSENTER_CS is remembered, SYSENTER_EIP registers the sysenter callback with it
    /// (callback_op), SYSENTER_ESP has no equivalent (the callback runs on the kernel stack of stack_switch).
    /// </summary>
    public override void WriteMsr(uint msr, uint value)
    {
        switch (msr)
        {
            case 0x174:
                _sysenterCs = value;
                Op("write_msr", () => { });
                break;
            case 0x175:
                Op("write_msr", () => { });
                break;
            case 0x176:
                uint cs = (_sysenterCs ?? throw new NotSupportedException("paravirtual pv-ops: SYSENTER_EIP written before SYSENTER_CS")) | 1;
                Op("write_msr", () =>
                {
                    A.push(ebx);
                    A.push(value);
                    A.push(cs);
                    A.push(Callback.FlagMaskEvents << 16 | Callback.TypeSysenter);
                    A.mov(ecx, esp);
                    A.mov(ebx, Callback.Register);
                    A.mov(eax, ParavirtAbi.Hypercall.CallbackOp);
                    A.@int(HypercallVector);
                    A.add(esp, 12);
                    A.pop(ebx);
                    A.test(eax, eax);
                    A.jnz(K.Label("pv_hypercall_failed"));
                });
                break;
            default:
                throw new NotSupportedException($"paravirtual pv-ops: MSR 0x{msr:x} has no hypercall; only the sysenter MSRs (0x174-0x176) are supported");
        }
    }

    // ---- page tables ----

    /// <inheritdoc />
    public override void SetEntry(AssemblerRegister32 entry, AssemblerRegister32 value) => CallWith("set_entry", entry, value, "pv_set_entry");

    /// <inheritdoc />
    public override void BeginBatch() => Op("begin_batch", () => A.inc(K.Var("pv_batch_depth")));

    /// <inheritdoc />
    public override void QueueEntry(AssemblerRegister32 entry, AssemblerRegister32 value) => CallWith("queue_entry", entry, value, "pv_queue_entry");

    /// <inheritdoc />
    public override void EndBatch() => Op("end_batch", () => K.Call("pv_end_batch"));

    /// <inheritdoc />
    public override void FlushTlbEntry(AssemblerRegister32 linear) => CallWith("flush_tlb_entry", linear, "pv_invlpg");

    /// <inheritdoc />
    public override void FlushTlbAll() => Op("flush_tlb_all", () => K.Call("pv_flush_tlb"));

    /// <inheritdoc />
    public override void NotifyPageTableAlloc(AssemblerRegister32 frame, PageTableLevel level) =>
        CallWith("page_table_alloc", frame, level == PageTableLevel.Table ? "pv_alloc_table" : "pv_alloc_directory");

    /// <inheritdoc />
    public override void NotifyPageTableRelease(AssemblerRegister32 frame, PageTableLevel level) =>
        CallWith("page_table_release", frame, level == PageTableLevel.Table ? "pv_release_table" : "pv_release_directory");

    // ---- interrupt flag: the event mask in the shared page ----

    /// <inheritdoc />
    public override void IrqDisable() => Op("irq_disable", () => A.mov(EventMask, 1));

    /// <inheritdoc />
    public override void IrqEnable() => Op("irq_enable", EmitUnmask);

    /// <inheritdoc />
    public override void IrqSave(AssemblerRegister32 flags) => Op("irq_save", () =>
    {
        A.movzx(flags, EventMask);
        A.mov(EventMask, 1);
    });

    /// <inheritdoc />
    public override void IrqRestore(AssemblerRegister32 flags) => Op("irq_restore", () =>
    {
        var masked = K.NewLabel();
        var done = K.NewLabel();
        A.test(flags, flags);
        A.jnz(masked);
        EmitUnmask();
        A.jmp(done);
        K.Bind(ref masked);
        A.mov(EventMask, 1);
        K.Bind(ref done);
    });

    /// <summary>Unmasks events and, if one arrived while they were masked, has the hypervisor deliver it now.</summary>
    private void EmitUnmask()
    {
        var none = K.NewLabel();
        A.mov(EventMask, 0);
        A.cmp(EventPending, 0);
        A.je(none);
        K.Call("pv_force_callback");
        K.Bind(ref none);
    }

    /// <inheritdoc />
    public override void Halt() => Op("halt", () => K.Call("pv_block"));

    // ---- returns ----

    /// <inheritdoc />
    public override void InterruptReturn() => Op("iret", () => K.Jmp("pv_iret"));

    /// <summary>sysexit has no ring-1 form: the same return as an iret, from a frame built of EDX and ECX (as Linux's xen_sysexit).</summary>
    public override void SysExit() => Op("sysexit", () =>
    {
        A.push(Selector.UserData);
        A.push(ecx);
        A.push(UserEflags);
        A.push(Selector.UserCode);
        A.push(edx);
        K.Jmp("pv_iret_user");
    });

    // ---- port I/O: requests on the device ring ----

    /// <inheritdoc />
    public override void PortIn8() => PortIo("port_in8", DeviceRing.OpIn, 1);

    /// <inheritdoc />
    public override void PortOut8() => PortIo("port_out8", DeviceRing.OpOut, 1);

    /// <inheritdoc />
    public override void PortOut32() => PortIo("port_out32", DeviceRing.OpOut, 4);

    private void PortIo(string name, byte op, int size) => Op(name, () =>
    {
        A.push(ecx);
        A.mov(ecx, op | size << 8);
        K.Call("pv_port_io");
        A.pop(ecx);
    });

    // ---- call helpers: arguments on the stack, so any register may be passed ----

    private void CallWith(string name, AssemblerRegister32 argument, string routine) => Op(name, () =>
    {
        A.push(argument);
        K.Call(routine);
    });

    private void CallWith(string name, AssemblerRegister32 first, AssemblerRegister32 second, string routine) => Op(name, () =>
    {
        A.push(second);
        A.push(first);
        K.Call(routine);
    });
}
