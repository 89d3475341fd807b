using Iced.Intel;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Workloads.Kernel.PvOps;

// The routines the paravirtual operations call, each a tagged pv-ops range: hypercall wrappers, the page-table
// update queue and the mmuext queue behind it, the device ring, the event callback and the return path. Every
// routine preserves every register it does not return (flags excepted); routines with stack arguments pop them.
internal sealed partial class ParavirtualPvOps
{
    /// <summary>mmu_update requests one batch may hold before it is sent (Barham et al.: up to 2048).</summary>
    public const int MmuQueueCapacity = 2048;

    /// <summary>Pending mmuext operations (pins waiting for the next mmuext_op).</summary>
    private const int ExtQueueCapacity = 16;

    private const uint Present = Layout.PtePresent, Writable = Layout.PteWritable;

    /// <inheritdoc />
    public override void EmitSupport()
    {
        Routine("hypercall_failed", EmitFailures);
        Routine("descriptor_tables", EmitLoadDescriptorTables);
        Routine("simple_hypercalls", EmitSimpleHypercalls);
        Routine("mmu_queue", EmitMmuQueue);
        Routine("mmuext_queue", EmitExtQueue);
        Routine("page_tables", EmitPageTableNotifications);
        Routine("device_ring", EmitPortIo);
        Routine("events", EmitEventCallback);
        Routine("return", EmitReturn);
        EmitData();
    }

    private void Routine(string name, Action body) => Op("support." + name, body);

    private static AssemblerMemoryOperand Shared(int offset) => __dword_ptr.ss[SharedPage + (uint)offset];

    /// <summary>Issues a hypercall whose arguments are already in place; panics the kernel on an error result.</summary>
    private void Hypercall(uint number)
    {
        A.mov(eax, number);
        A.@int(HypercallVector);
        A.test(eax, eax);
        A.jnz(K.Label("pv_hypercall_failed"));
    }

    private void EmitFailures()
    {
        K.Bind("pv_hypercall_failed");
        A.mov(eax, K.String("a hypercall failed"));
        K.Jmp("panic");

        // The hypervisor could not make a return the kernel asked for (an iret hypercall with a bad frame).
        K.Bind("pv_failsafe_callback");
        A.mov(eax, K.String("failsafe callback"));
        K.Jmp("panic");
    }

    /// <summary>
    /// pv_load_descriptor_tables(ESI = GDT pointer, EDI = IDT pointer), called with every register saved: the GDT
    /// without its system descriptors (Xen keeps the TSS itself, as Linux's xen_write_gdt_entry ignores them), the
    /// ring-1 selectors, the IDT converted to a trap table (Linux's cvt_gate_to_trap), and the callbacks.
    /// </summary>
    private void EmitLoadDescriptorTables()
    {
        K.Bind("pv_load_descriptor_tables");
        A.movzx(ecx, __word_ptr[esi]);
        A.inc(ecx);
        A.shr(ecx, 3);
        A.mov(esi, __dword_ptr[esi + 2]);
        A.mov(ebx, K.Addr("pv_gdt"));
        A.push(ecx);
        var copy = K.NewLabel();
        var keep = K.NewLabel();
        K.Bind(ref copy);
        A.mov(eax, __dword_ptr[esi]);
        A.mov(edx, __dword_ptr[esi + 4]);
        A.test(edx, 0x1000);                 // S: code or data
        A.jnz(keep);
        A.test(edx, 0x8000);                 // P
        A.jz(keep);
        A.xor(eax, eax);
        A.xor(edx, edx);
        K.Bind(ref keep);
        A.mov(__dword_ptr[ebx], eax);
        A.mov(__dword_ptr[ebx + 4], edx);
        A.add(esi, 8);
        A.add(ebx, 8);
        A.dec(ecx);
        A.jnz(copy);
        A.pop(ecx);
        A.push(K.Addr("pv_gdt") >> 12);
        A.mov(ebx, esp);
        Hypercall(ParavirtAbi.Hypercall.SetGdt);
        A.add(esp, 4);

        A.jmp(KernelCs, K.Addr("pv_cs_reloaded"));
        K.Bind("pv_cs_reloaded");
        A.mov(eax, KernelSs);
        A.mov(ss, eax);
        A.mov(eax, Selector.UserData);
        A.mov(ds, eax);
        A.mov(es, eax);
        A.mov(fs, eax);
        A.mov(gs, eax);

        // Trap table: for each present interrupt or trap gate, {vector, DPL | mask-events for an interrupt gate, CS, EIP}.
        A.mov(esi, __dword_ptr[edi + 2]);
        A.mov(K.Var("pv_idt_base"), esi);
        A.movzx(ecx, __word_ptr[edi]);
        A.inc(ecx);
        A.shr(ecx, 3);
        A.mov(ebx, K.Addr("pv_trap_table"));
        A.xor(edi, edi);
        var gate = K.NewLabel();
        var next = K.NewLabel();
        var trapGate = K.NewLabel();
        K.Bind(ref gate);
        A.mov(eax, __dword_ptr[esi + edi * 8 + 4]);
        A.test(eax, 0x8000);
        A.jz(next);
        A.mov(edx, eax);
        A.shr(edx, 9);
        A.and(edx, 0xF);
        A.cmp(edx, 0x7);                     // type 0xE or 0xF: a 32-bit interrupt or trap gate
        A.jne(next);
        A.push(ecx);
        A.mov(edx, __dword_ptr[esi + edi * 8]);
        A.mov(ecx, eax);
        A.and(ecx, unchecked((int)0xFFFF_0000));
        A.push(edx);
        A.and(edx, 0xFFFF);
        A.or(ecx, edx);
        A.pop(edx);
        A.mov(__dword_ptr[ebx + 4], ecx);    // address
        A.mov(ecx, eax);
        A.shr(ecx, 13);
        A.and(ecx, (int)TrapInfo.DplMask);
        A.test(eax, 0x100);
        A.jnz(trapGate);
        A.or(ecx, (int)TrapInfo.MaskEvents);
        K.Bind(ref trapGate);
        A.shl(ecx, 8);
        A.or(ecx, edi);
        A.and(edx, unchecked((int)0xFFFF_0000));
        A.or(ecx, edx);
        A.mov(__dword_ptr[ebx], ecx);        // vector, flags, CS
        A.pop(ecx);
        A.add(ebx, TrapInfo.Size);
        K.Bind(ref next);
        A.inc(edi);
        A.cmp(edi, ecx);
        A.jb(gate);
        A.mov(__dword_ptr[ebx], 0);
        A.mov(__dword_ptr[ebx + 4], 0);
        A.mov(ebx, K.Addr("pv_trap_table"));
        Hypercall(ParavirtAbi.Hypercall.SetTrapTable);

        A.mov(ebx, KernelCs);
        A.mov(ecx, K.Addr("pv_event_callback"));
        A.mov(edx, KernelCs);
        A.mov(esi, K.Addr("pv_failsafe_callback"));
        Hypercall(ParavirtAbi.Hypercall.SetCallbacks);
        A.ret();
    }

    private void EmitSimpleHypercalls()
    {
        // pv_stack_switch(top): stack_switch(kernel SS, top).
        K.Bind("pv_stack_switch");
        A.push(eax);
        A.push(ebx);
        A.push(ecx);
        A.mov(ecx, __dword_ptr[esp + 16]);
        A.mov(ebx, KernelSs);
        Hypercall(ParavirtAbi.Hypercall.StackSwitch);
        A.pop(ecx);
        A.pop(ebx);
        A.pop(eax);
        A.ret(4);

        // pv_force_callback: any hypercall delivers pending events on its way out (Linux calls xen_version).
        K.Bind("pv_force_callback");
        A.push(eax);
        A.push(ebx);
        A.push(ecx);
        A.xor(ebx, ebx);
        A.xor(ecx, ecx);
        A.mov(eax, ParavirtAbi.Hypercall.XenVersion);
        A.@int(HypercallVector);
        A.pop(ecx);
        A.pop(ebx);
        A.pop(eax);
        A.ret();

        // pv_block: sched_op(block) unmasks events and sleeps until one arrives; its upcall comes first on return.
        K.Bind("pv_block");
        A.push(eax);
        A.push(ebx);
        A.push(ecx);
        A.mov(ebx, SchedOp.Block);
        A.xor(ecx, ecx);
        Hypercall(ParavirtAbi.Hypercall.SchedOp);
        A.pop(ecx);
        A.pop(ebx);
        A.pop(eax);
        A.ret();
    }

    /// <summary>The page-table update queue: mmu_update requests {uint64 ptr, uint64 val}, sent when a batch ends.</summary>
    private void EmitMmuQueue()
    {
        // pv_queue(ptr, value): appends a request (sending the queue first if it is full).
        K.Bind("pv_queue");
        A.push(eax);
        A.push(ecx);
        var room = K.NewLabel();
        A.mov(ecx, K.Var("pv_mmu_count"));
        A.cmp(ecx, MmuQueueCapacity);
        A.jb(room);
        K.Call("pv_mmu_flush");
        A.xor(ecx, ecx);
        K.Bind(ref room);
        A.shl(ecx, 4);
        A.mov(eax, __dword_ptr[esp + 12]);
        A.mov(__dword_ptr[ecx + K.Addr("pv_mmu_queue")], eax);
        A.mov(eax, __dword_ptr[esp + 16]);
        A.mov(__dword_ptr[ecx + K.Addr("pv_mmu_queue") + 8], eax);
        A.inc(K.Var("pv_mmu_count"));
        A.pop(ecx);
        A.pop(eax);
        A.ret(8);

        // pv_set_entry(ptr, value): in effect on return (with everything queued before it).
        K.Bind("pv_set_entry");
        A.push(__dword_ptr[esp + 8]);
        A.push(__dword_ptr[esp + 8]);
        K.Call("pv_queue");
        K.Call("pv_mmu_flush");
        A.ret(8);

        // pv_queue_entry(ptr, value): queued inside a batch, immediate outside one.
        K.Bind("pv_queue_entry");
        A.cmp(K.Var("pv_batch_depth"), 0);
        A.je(K.Label("pv_set_entry"));
        K.Jmp("pv_queue");

        K.Bind("pv_end_batch");
        var open = K.NewLabel();
        A.dec(K.Var("pv_batch_depth"));
        A.jnz(open);
        K.Call("pv_mmu_flush");
        K.Bind(ref open);
        A.ret();

        // pv_mmu_flush: one mmu_update for everything queued.
        K.Bind("pv_mmu_flush");
        var empty = K.NewLabel();
        A.cmp(K.Var("pv_mmu_count"), 0);
        A.je(empty);
        A.push(eax);
        A.push(ebx);
        A.push(ecx);
        A.push(edx);
        A.push(esi);
        A.mov(ebx, K.Addr("pv_mmu_queue"));
        A.mov(ecx, K.Var("pv_mmu_count"));
        A.xor(edx, edx);
        A.mov(esi, DomainSelf);
        Hypercall(ParavirtAbi.Hypercall.MmuUpdate);
        A.mov(K.Var("pv_mmu_count"), 0);
        A.pop(esi);
        A.pop(edx);
        A.pop(ecx);
        A.pop(ebx);
        A.pop(eax);
        K.Bind(ref empty);
        A.ret();
    }

    /// <summary>
    /// The mmuext queue: pins wait in slots 1.. until the next mmuext_op, which always follows the page-table
    /// queue (pages are read-only before they are pinned). Slot 0 takes an operation that must come first.
    /// </summary>
    private void EmitExtQueue()
    {
        uint slots = K.Addr("pv_ext_slots");

        // pv_ext_append(EAX = command, EDX = argument).
        K.Bind("pv_ext_append");
        A.push(ecx);
        var room = K.NewLabel();
        A.mov(ecx, K.Var("pv_ext_count"));
        A.cmp(ecx, ExtQueueCapacity);
        A.jb(room);
        A.xor(ecx, ecx);
        K.Call("pv_ext_issue");
        K.Bind(ref room);
        A.mov(ecx, K.Var("pv_ext_count"));
        A.lea(ecx, __[ecx + ecx * 2]);
        A.mov(__dword_ptr[ecx * 4 + slots + MmuExt.OperationSize], eax);
        A.mov(__dword_ptr[ecx * 4 + slots + MmuExt.OperationSize + 4], edx);
        A.inc(K.Var("pv_ext_count"));
        A.pop(ecx);
        A.ret();

        // pv_ext_issue(ECX = 1 to send slot 0 first): the page-table queue, then one mmuext_op.
        K.Bind("pv_ext_issue");
        K.Call("pv_mmu_flush");
        A.push(eax);
        A.push(ebx);
        A.push(ecx);
        A.push(edx);
        A.push(esi);
        var noFront = K.NewLabel();
        var nothing = K.NewLabel();
        A.mov(ebx, slots + MmuExt.OperationSize);
        A.test(ecx, ecx);
        A.jz(noFront);
        A.mov(ebx, slots);
        K.Bind(ref noFront);
        A.add(ecx, K.Var("pv_ext_count"));
        A.jz(nothing);
        A.xor(edx, edx);
        A.mov(esi, DomainSelf);
        Hypercall(ParavirtAbi.Hypercall.MmuExtOp);
        A.mov(K.Var("pv_ext_count"), 0);
        K.Bind(ref nothing);
        A.pop(esi);
        A.pop(edx);
        A.pop(ecx);
        A.pop(ebx);
        A.pop(eax);
        A.ret();

        // pv_mmuext(EAX = command, EDX = argument): queued behind the pending pins and sent.
        K.Bind("pv_mmuext");
        K.Call("pv_ext_append");
        A.push(ecx);
        A.xor(ecx, ecx);
        K.Call("pv_ext_issue");
        A.pop(ecx);
        A.ret();

        // pv_flush_tlb: the flush first, so that the pins behind it find no stale writable translation.
        K.Bind("pv_flush_tlb");
        A.push(ecx);
        A.mov(__dword_ptr[slots], MmuExt.TlbFlushLocal);
        A.mov(ecx, 1);
        K.Call("pv_ext_issue");
        A.pop(ecx);
        A.ret();

        EmitExtCall("pv_invlpg", MmuExt.InvlpgLocal, frameNumber: false);
        EmitExtCall("pv_load_cr3", MmuExt.NewBasePtr, frameNumber: true);

        // pv_enable_paging(directory): the shared page into the kernel's fixmap where the bootstrap space has it,
        // then one mmuext_op: pin the directory (queued by its notification), switch to it, unpin the bootstrap tables.
        K.Bind("pv_enable_paging");
        A.push(eax);
        A.push(edx);
        A.mov(eax, __dword_ptr[StartInfo.Address + StartInfo.SharedInfoAddress]);
        A.or(eax, (int)(Present | Writable));
        A.push(eax);
        A.push(Layout.FixmapPageTable + ((SharedInfo.LinearAddress - Layout.FixmapBase) >> 12) * 4);
        K.Call("pv_queue");
        A.mov(edx, __dword_ptr[esp + 12]);
        A.shr(edx, 12);
        A.mov(eax, MmuExt.NewBasePtr);
        K.Call("pv_ext_append");
        A.mov(edx, __dword_ptr[StartInfo.Address + StartInfo.PtBase]);
        A.shr(edx, 12);
        A.mov(eax, MmuExt.UnpinTable);
        K.Call("pv_mmuext");
        A.mov(K.Var("pv_booting"), 0);
        A.pop(edx);
        A.pop(eax);
        A.ret(4);
    }

    /// <summary>A routine taking one stack argument (an address, or a directory whose frame number is sent) for one mmuext operation.</summary>
    private void EmitExtCall(string name, uint command, bool frameNumber)
    {
        K.Bind(name);
        A.push(eax);
        A.push(edx);
        A.mov(edx, __dword_ptr[esp + 12]);
        if (frameNumber) A.shr(edx, 12);
        A.mov(eax, command);
        K.Call("pv_mmuext");
        A.pop(edx);
        A.pop(eax);
        A.ret(4);
    }

    /// <summary>
    /// The page-table notifications: a page becomes read-only in the kernel's identity map (and, while booting, in
    /// the bootstrap map) before it is used as a page table, and writable again once it is released. A directory is
    /// also pinned (queued) and unpinned (at once, before its page is reused).
    /// </summary>
    private void EmitPageTableNotifications()
    {
        // pv_frame_access(EAX = frame, EDX = P or P|W): queues the identity entries of the frame.
        K.Bind("pv_frame_access");
        A.push(eax);
        A.push(ebx);
        A.push(ecx);
        A.mov(ecx, eax);
        A.shr(ecx, 12);
        A.shl(ecx, 2);
        A.mov(ebx, eax);
        A.or(ebx, edx);
        A.push(ebx);
        A.lea(eax, __[ecx + Layout.KernelPageTables]);
        A.push(eax);
        K.Call("pv_queue");
        var booted = K.NewLabel();
        A.cmp(K.Var("pv_booting"), 0);
        A.je(booted);
        A.push(ebx);
        A.mov(eax, __dword_ptr[StartInfo.Address + StartInfo.PtBase]);
        A.lea(eax, __[eax + ecx + (int)Layout.Page]);
        A.push(eax);
        K.Call("pv_queue");
        K.Bind(ref booted);
        A.pop(ecx);
        A.pop(ebx);
        A.pop(eax);
        A.ret();

        EmitNotification("pv_alloc_table", Present, null);
        EmitNotification("pv_alloc_directory", Present, MmuExt.PinL2Table);
        EmitNotification("pv_release_table", Present | Writable, null);

        K.Bind("pv_release_directory");
        A.push(eax);
        A.push(edx);
        A.mov(edx, __dword_ptr[esp + 12]);
        A.shr(edx, 12);
        A.mov(eax, MmuExt.UnpinTable);
        K.Call("pv_mmuext");
        A.mov(eax, __dword_ptr[esp + 12]);
        A.mov(edx, Present | Writable);
        K.Call("pv_frame_access");
        K.Call("pv_mmu_flush");
        A.pop(edx);
        A.pop(eax);
        A.ret(4);
    }

    private void EmitNotification(string name, uint access, uint? pin)
    {
        K.Bind(name);
        A.push(eax);
        A.push(edx);
        A.mov(eax, __dword_ptr[esp + 12]);
        A.mov(edx, access);
        K.Call("pv_frame_access");
        if (pin is uint command)
        {
            A.mov(edx, eax);
            A.shr(edx, 12);
            A.mov(eax, command);
            K.Call("pv_ext_append");
        }
        A.pop(edx);
        A.pop(eax);
        A.ret(4);
    }

    /// <summary>
    /// pv_port_io(EAX = value, ECX = op | size &lt;&lt; 8, DX = port) -> EAX (a read changes only its size's bits):
    /// a request on the device ring and a notification of its port, with events masked so that an event handler's
    /// own request cannot take the same slot.
    /// </summary>
    private void EmitPortIo()
    {
        uint ring = DeviceRing.Address;
        K.Bind("pv_port_io");
        A.push(ebx);
        A.push(esi);
        A.push(edi);
        A.movzx(esi, EventMask);
        A.mov(EventMask, 1);
        A.mov(ebx, __dword_ptr[ring + DeviceRing.RequestProducer]);
        A.mov(edi, ebx);
        A.and(edi, DeviceRing.SlotCount - 1);
        A.shl(edi, 4);
        A.add(edi, ring + DeviceRing.Slots);
        A.mov(__word_ptr[edi + DeviceRing.SlotOp], cx);
        A.mov(__word_ptr[edi + DeviceRing.SlotPort], dx);
        A.mov(__dword_ptr[edi + DeviceRing.SlotValue], eax);
        A.inc(ebx);
        A.mov(__dword_ptr[ring + DeviceRing.RequestProducer], ebx);
        A.push(eax);
        A.push(ecx);
        A.push(edx);
        A.push(EventChannel.DeviceRingPort);
        A.mov(ecx, esp);
        A.mov(ebx, EventChannel.Send);
        Hypercall(ParavirtAbi.Hypercall.EventChannelOp);
        A.add(esp, 4);
        A.pop(edx);
        A.pop(ecx);
        A.pop(eax);
        var done = K.NewLabel();
        var word = K.NewLabel();
        var dword = K.NewLabel();
        A.cmp(cl, DeviceRing.OpIn);
        A.jne(done);
        A.cmp(ch, 1);
        A.jne(word);
        A.mov(al, __byte_ptr[edi + DeviceRing.SlotValue]);
        A.jmp(done);
        K.Bind(ref word);
        A.cmp(ch, 2);
        A.jne(dword);
        A.mov(ax, __word_ptr[edi + DeviceRing.SlotValue]);
        A.jmp(done);
        K.Bind(ref dword);
        A.mov(eax, __dword_ptr[edi + DeviceRing.SlotValue]);
        K.Bind(ref done);
        var keepMasked = K.NewLabel();
        A.test(esi, esi);
        A.jnz(keepMasked);
        EmitUnmask();
        K.Bind(ref keepMasked);
        A.pop(edi);
        A.pop(esi);
        A.pop(ebx);
        A.ret();
    }

    /// <summary>
    /// The event callback, entered by the hypervisor (events masked) with an interrupt frame: takes the lowest pending
    /// port and enters the kernel's interrupt stub of its PIC line with that frame, as if the IDT had delivered it. An
    /// upcall that hit the return path's critical region (events unmasked, the user frame not yet popped) drops its
    /// own frame and handles the event on the frame below, as Linux's xen_iret fixup does.
    /// </summary>
    private void EmitEventCallback()
    {
        K.Bind("pv_event_callback");
        var dispatch = K.Label("pv_event_dispatch");
        A.cmp(__dword_ptr.ss[esp], K.Addr("pv_iret.critical_start"));
        A.jb(dispatch);
        A.cmp(__dword_ptr.ss[esp], K.Addr("pv_iret.critical_end"));
        A.jae(dispatch);
        A.add(esp, 12);

        K.Bind("pv_event_dispatch");
        var none = K.NewLabel();
        A.sub(esp, 4);
        A.push(eax);
        A.push(ecx);
        A.push(edx);
        A.mov(EventPending, 0);
        A.mov(edx, Shared(SharedInfo.EventMask));
        A.not(edx);
        A.mov(eax, Shared(SharedInfo.EventPending));
        A.and(eax, edx);
        A.bsf(ecx, eax);
        A.jz(none);
        A.btr(Shared(SharedInfo.EventPending), ecx);
        A.btr(eax, ecx);
        A.test(eax, eax);
        A.setnz(EventPending);
        A.sub(ecx, EventChannel.FirstIrqPort);
        A.cmp(ecx, EventChannel.IrqLines);
        A.jae(none);
        A.mov(edx, __dword_ptr.ss[K.Addr("pv_idt_base")]);
        A.mov(eax, __dword_ptr.ss[edx + ecx * 8 + Entry.IrqBase * 8 + 4]);
        A.and(eax, unchecked((int)0xFFFF_0000));
        A.movzx(edx, __word_ptr.ss[edx + ecx * 8 + Entry.IrqBase * 8]);
        A.or(eax, edx);
        A.mov(__dword_ptr.ss[esp + 12], eax);
        A.pop(edx);
        A.pop(ecx);
        A.pop(eax);
        A.ret();
        K.Bind(ref none);
        A.pop(edx);
        A.pop(ecx);
        A.pop(eax);
        A.add(esp, 4);
        K.Jmp("pv_iret");
    }

    /// <summary>
    /// pv_iret, on an interrupt frame (Linux's xen_iret): to user mode, unmask events and iret directly from ring 1
    /// (the fast path, no hypervisor) unless an event is pending, which is then handled on this frame; to kernel mode,
    /// the iret hypercall restores the event mask from the frame's IF together with the return.
    /// </summary>
    private void EmitReturn()
    {
        var kernel = K.NewLabel();
        var pending = K.NewLabel();
        K.Bind("pv_iret");
        A.test(__byte_ptr.ss[esp + 4], 2);      // CS RPL 3
        A.jz(kernel);
        K.Bind("pv_iret_user");
        A.mov(EventMask, 0);
        K.Bind("pv_iret.critical_start");
        A.cmp(EventPending, 0);
        A.jne(pending);
        A.iretd();
        K.Bind(ref pending);
        A.mov(EventMask, 1);
        K.Bind("pv_iret.critical_end");
        K.Jmp("pv_event_dispatch");
        K.Bind(ref kernel);
        A.push(eax);
        A.mov(eax, ParavirtAbi.Hypercall.Iret);
        A.@int(HypercallVector);
    }

    private void EmitData()
    {
        K.Dword("pv_booting", 1);
        K.Dword("pv_batch_depth");
        K.Dword("pv_mmu_count");
        K.Dword("pv_ext_count");
        K.Dword("pv_idt_base");
        K.Data("pv_mmu_queue", () => A.db(new byte[MmuQueueCapacity * MmuUpdate.RequestSize]));
        K.Data("pv_ext_slots", () => A.db(new byte[(ExtQueueCapacity + 1) * MmuExt.OperationSize]));
        K.Data("pv_trap_table", () => A.db(new byte[257 * TrapInfo.Size]));
        K.Data("pv_gdt", () => A.db(new byte[Layout.Page]), Layout.Page);
    }
}
