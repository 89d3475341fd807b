using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// Memory management: the page-frame allocator (a stack of free frames with reference counts), page directories
/// that share the kernel's page tables, demand-zero and copy-on-write faults, fork's copy of an address space,
/// teardown, and the brk/mmap/munmap/mprotect calls. Every write to a live page-table page goes through pv-ops.
/// </summary>
internal static class Memory
{
    private const uint P = Layout.PtePresent, W = Layout.PteWritable, U = Layout.PteUser;
    private const int FirstUserPde = (int)(Layout.UserBase >> 22), EndUserPde = (int)(Layout.UserTop >> 22);

    public static void Emit(KernelContext c)
    {
        EmitPagingInit(c);
        EmitFrameAllocator(c);
        EmitPageTables(c);
        EmitAddressSpaces(c);
        EmitFaults(c);
        EmitMappingCalls(c);
    }

    private static void EmitPagingInit(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // Identity-map 0..32 MiB supervisor-only (page 0 left out to catch null pointers), share the tables.
        k.Bind("paging_init");
        c.Save(ebx, esi, edi);
        a.mov(edi, Layout.KernelPageTables);
        a.mov(eax, P | W);
        a.mov(ecx, Layout.IdentityTables * 1024);
        var fill = c.NewLabel();
        c.Bind(ref fill);
        a.mov(__dword_ptr[edi], eax);
        a.add(edi, 4);
        a.add(eax, (int)Layout.Page);
        a.dec(ecx);
        a.jnz(fill);
        a.mov(__dword_ptr[Layout.KernelPageTables], 0);
        a.mov(edi, Layout.SwapperPageDirectory);
        a.mov(eax, Layout.KernelPageTables | P | W);
        a.mov(ecx, Layout.KernelPdes);
        var link = c.NewLabel();
        c.Bind(ref link);
        a.mov(__dword_ptr[edi], eax);
        a.add(edi, 4);
        a.add(eax, (int)Layout.Page);
        a.dec(ecx);
        a.jnz(link);
        a.mov(ebx, Layout.KernelPageTables);
        a.mov(esi, Layout.KernelPdes);
        var notify = c.NewLabel();
        c.Bind(ref notify);
        pv.NotifyPageTableAlloc(ebx, PvOps.PageTableLevel.Table);
        a.add(ebx, (int)Layout.Page);
        a.dec(esi);
        a.jnz(notify);
        a.mov(eax, Layout.SwapperPageDirectory);
        pv.NotifyPageTableAlloc(eax, PvOps.PageTableLevel.Directory);
        pv.EnablePaging(eax);
        c.Return(ebx, esi, edi);
    }

    private static void EmitFrameAllocator(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // The free stack is filled so that frames come out in ascending address order.
        k.Bind("frames_init");
        a.push(edi);
        a.mov(edi, Layout.FreeFrameStack);
        a.mov(eax, Layout.PoolEnd - Layout.Page);
        a.mov(ecx, Layout.PoolFrames);
        var fill = c.NewLabel();
        c.Bind(ref fill);
        a.mov(__dword_ptr[edi], eax);
        a.add(edi, 4);
        a.sub(eax, (int)Layout.Page);
        a.dec(ecx);
        a.jnz(fill);
        a.mov(k.Var("free_frames"), Layout.PoolFrames);
        a.pop(edi);
        a.ret();
        k.Dword("free_frames");

        // frame_alloc() -> EAX = frame (reference count 1), or 0 when memory is exhausted.
        k.Bind("frame_alloc");
        var none = c.NewLabel();
        a.mov(eax, k.Var("free_frames"));
        a.test(eax, eax);
        a.jz(none);
        a.dec(eax);
        a.mov(k.Var("free_frames"), eax);
        a.mov(eax, __dword_ptr[eax * 4 + Layout.FreeFrameStack]);
        a.mov(edx, eax);
        a.shr(edx, 12);
        a.mov(__dword_ptr[edx * 4 + Layout.FrameRefCounts], 1);
        c.Bind(ref none);
        a.ret();

        // frame_alloc_zeroed() -> EAX = zeroed frame, or 0.
        k.Bind("frame_alloc_zeroed");
        k.Call("frame_alloc");
        var done = c.NewLabel();
        a.test(eax, eax);
        a.jz(done);
        a.push(edi);
        a.mov(edi, eax);
        a.mov(edx, eax);
        a.xor(eax, eax);
        a.mov(ecx, 1024);
        a.rep.stosd();
        a.mov(eax, edx);
        a.pop(edi);
        c.Bind(ref done);
        a.ret();

        // frame_get(EAX = frame): one more reference. Frames outside the pool (kernel pages) are not counted.
        k.Bind("frame_get");
        var notPool = c.NewLabel();
        a.cmp(eax, unchecked((int)Layout.PoolStart));
        a.jb(notPool);
        a.shr(eax, 12);
        a.inc(__dword_ptr[eax * 4 + Layout.FrameRefCounts]);
        c.Bind(ref notPool);
        a.ret();

        // frame_put(EAX = frame): one reference less; the last one frees the frame.
        k.Bind("frame_put");
        var keep = c.NewLabel();
        a.cmp(eax, unchecked((int)Layout.PoolStart));
        a.jb(keep);
        a.mov(edx, eax);
        a.shr(edx, 12);
        a.dec(__dword_ptr[edx * 4 + Layout.FrameRefCounts]);
        a.jnz(keep);
        a.mov(edx, k.Var("free_frames"));
        a.mov(__dword_ptr[edx * 4 + Layout.FreeFrameStack], eax);
        a.inc(edx);
        a.mov(k.Var("free_frames"), edx);
        c.Bind(ref keep);
        a.ret();
    }

    /// <summary>
    /// Emits a scan for the next non-zero dword in [EDI, <paramref name="end"/>): jumps to <paramref name="done"/>
    /// when there is none, else falls through with EDI just past it. Clobbers EAX, ECX.
    /// </summary>
    private static void EmitNextNonZero(KernelContext c, AssemblerRegister32 end, Label done)
    {
        var a = c.A;
        a.mov(ecx, end);
        a.sub(ecx, edi);
        a.shr(ecx, 2);
        a.jz(done);
        a.xor(eax, eax);
        a.repe.scasd();
        a.je(done);
    }

    private static void EmitPageTables(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // pte_lookup(EAX = directory, EDX = linear) -> EAX = pointer to the PTE, or 0 without a page table.
        k.Bind("pte_lookup");
        var none = c.NewLabel();
        a.mov(ecx, edx);
        a.shr(ecx, 22);
        a.mov(eax, __dword_ptr[eax + ecx * 4]);
        a.test(al, (byte)P);
        a.jz(none);
        a.and(eax, unchecked((int)Layout.FrameMask));
        a.shr(edx, 12);
        a.and(edx, 1023);
        a.lea(eax, __[eax + edx * 4]);
        a.ret();
        c.Bind(ref none);
        a.xor(eax, eax);
        a.ret();

        // pte_lookup_create(EAX = directory, EDX = linear) -> EAX = pointer to the PTE (allocating the table), or 0.
        k.Bind("pte_lookup_create");
        c.Save(esi, edi);
        a.mov(esi, edx);
        a.mov(ecx, edx);
        a.shr(ecx, 22);
        a.lea(edi, __[eax + ecx * 4]);
        a.mov(eax, __dword_ptr[edi]);
        var have = c.NewLabel();
        var fail = c.NewLabel();
        a.test(al, (byte)P);
        a.jnz(have);
        k.Call("frame_alloc_zeroed");
        a.test(eax, eax);
        a.jz(fail);
        pv.NotifyPageTableAlloc(eax, PvOps.PageTableLevel.Table);
        a.or(eax, P | W | U);
        pv.SetEntry(edi, eax);
        c.Bind(ref have);
        a.and(eax, unchecked((int)Layout.FrameMask));
        a.mov(edx, esi);
        a.shr(edx, 12);
        a.and(edx, 1023);
        a.lea(eax, __[eax + edx * 4]);
        c.Bind(ref fail);
        c.Return(esi, edi);

        // pt_free_pages(EAX = page table): drops the reference of every page the table maps.
        k.Bind("pt_free_pages");
        c.Save(esi, edi);
        a.mov(edi, eax);
        a.lea(esi, __[eax + (int)Layout.Page]);
        var next = c.NewLabel();
        var done = c.NewLabel();
        c.Bind(ref next);
        EmitNextNonZero(c, esi, done);
        a.mov(eax, __dword_ptr[edi - 4]);
        a.and(eax, unchecked((int)Layout.FrameMask));
        k.Call("frame_put");
        a.jmp(next);
        c.Bind(ref done);
        c.Return(esi, edi);
    }

    private static void EmitAddressSpaces(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // pd_create() -> EAX = a new page directory with the kernel's entries, or 0.
        k.Bind("pd_create");
        k.Call("frame_alloc_zeroed");
        var done = c.NewLabel();
        a.test(eax, eax);
        a.jz(done);
        c.Save(esi, edi);
        a.mov(edx, eax);
        a.mov(esi, Layout.SwapperPageDirectory);
        a.mov(edi, eax);
        a.mov(ecx, Layout.KernelPdes);
        a.rep.movsd();
        a.mov(eax, edx);
        c.Restore(esi, edi);
        pv.NotifyPageTableAlloc(eax, PvOps.PageTableLevel.Directory);
        c.Bind(ref done);
        a.ret();

        // user_space_clear(EAX = directory): frees every user page and page table; the caller flushes the TLB.
        k.Bind("user_space_clear");
        c.Save(ebx, esi, edi);
        a.lea(edi, __[eax + FirstUserPde * 4]);
        a.lea(esi, __[eax + EndUserPde * 4]);
        pv.BeginBatch();
        var next = c.NewLabel();
        var end = c.NewLabel();
        c.Bind(ref next);
        EmitNextNonZero(c, esi, end);
        a.lea(ebx, __[edi - 4]);
        a.mov(eax, __dword_ptr[ebx]);
        a.and(eax, unchecked((int)Layout.FrameMask));
        a.push(eax);
        k.Call("pt_free_pages");
        a.xor(eax, eax);
        pv.QueueEntry(ebx, eax);
        a.pop(eax);
        pv.NotifyPageTableRelease(eax, PvOps.PageTableLevel.Table);
        k.Call("frame_put");
        a.jmp(next);
        c.Bind(ref end);
        pv.EndBatch();
        c.Return(ebx, esi, edi);

        // address_space_copy(EAX = parent directory, EDX = child directory) -> 0 or -ENOMEM. Copy-on-write:
        // writable pages become read-only in both, their frames shared and counted.
        k.Bind("address_space_copy");
        c.Save(ebx, esi, edi, ebp);
        a.mov(ebp, edx);
        a.sub(ebp, eax);                       // child directory - parent directory
        a.lea(edi, __[eax + FirstUserPde * 4]);
        a.lea(esi, __[eax + EndUserPde * 4]);
        pv.BeginBatch();
        var nextPde = c.NewLabel();
        var copied = c.NewLabel();
        var oom = c.NewLabel();
        var result = c.NewLabel();
        c.Bind(ref nextPde);
        EmitNextNonZero(c, esi, copied);
        a.lea(ebx, __[edi - 4]);
        k.Call("frame_alloc_zeroed");
        a.test(eax, eax);
        a.jz(oom);
        a.push(eax);
        a.mov(edx, eax);
        a.mov(eax, __dword_ptr[ebx]);
        a.and(eax, unchecked((int)Layout.FrameMask));
        k.Call("pt_copy");
        a.pop(eax);
        pv.NotifyPageTableAlloc(eax, PvOps.PageTableLevel.Table);
        a.or(eax, P | W | U);
        a.add(ebx, ebp);
        pv.QueueEntry(ebx, eax);
        a.jmp(nextPde);
        c.Bind(ref oom);
        a.mov(eax, -Errno.ENOMEM);
        a.jmp(result);
        c.Bind(ref copied);
        a.xor(eax, eax);
        c.Bind(ref result);
        pv.EndBatch();
        pv.FlushTlbAll();
        c.Return(ebx, esi, edi, ebp);

        // pt_copy(EAX = parent table, EDX = new child table, not yet a page table): inside a batch.
        k.Bind("pt_copy");
        c.Save(ebx, esi, edi, ebp);
        a.mov(ebp, edx);
        a.sub(ebp, eax);
        a.mov(edi, eax);
        a.lea(esi, __[eax + (int)Layout.Page]);
        var nextPte = c.NewLabel();
        var readOnly = c.NewLabel();
        var tableDone = c.NewLabel();
        c.Bind(ref nextPte);
        EmitNextNonZero(c, esi, tableDone);
        a.lea(ebx, __[edi - 4]);
        a.mov(eax, __dword_ptr[ebx]);
        a.test(al, (byte)W);
        a.jz(readOnly);
        a.and(eax, unchecked((int)~W));
        pv.QueueEntry(ebx, eax);
        c.Bind(ref readOnly);
        a.mov(__dword_ptr[ebx + ebp], eax);
        a.and(eax, unchecked((int)Layout.FrameMask));
        k.Call("frame_get");
        a.jmp(nextPte);
        c.Bind(ref tableDone);
        c.Return(ebx, esi, edi, ebp);

        // address_space_free(EAX = directory, not the current one): all user memory, then the directory.
        k.Bind("address_space_free");
        a.push(ebx);
        a.mov(ebx, eax);
        k.Call("user_space_clear");
        pv.NotifyPageTableRelease(ebx, PvOps.PageTableLevel.Directory);
        a.mov(eax, ebx);
        k.Call("frame_put");
        a.pop(ebx);
        a.ret();

        // The vDSO: one kernel page holding the sysenter stub, mapped read-only at the bottom of user space.
        k.Bind("vdso_init");
        c.Save(esi, edi);
        a.mov(esi, k.Addr("vdso_image"));
        a.mov(edi, Layout.VdsoFrame);
        a.mov(ecx, c.Inputs.Vdso.Bytes.Length);
        a.rep.movsb();
        c.Return(esi, edi);
        k.Bytes("vdso_image", c.Inputs.Vdso.Bytes);

        // map_vdso(EAX = directory) -> 0, or nonzero without memory.
        k.Bind("map_vdso");
        a.mov(edx, Layout.VdsoAddress);
        k.Call("pte_lookup_create");
        var fail = c.NewLabel();
        a.test(eax, eax);
        a.jz(fail);
        a.mov(edx, Layout.VdsoFrame | P | U);
        pv.SetEntry(eax, edx);
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref fail);
        a.mov(eax, 1);
        a.ret();
    }

    private static void EmitFaults(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // find_vma(EAX = process, EDX = address) -> EAX = the area containing it, or 0.
        k.Bind("find_vma");
        a.add(eax, Proc.Vmas);
        var found = c.NewLabel();
        c.ForEachEntry(eax, Vma.Size, ecx, Vma.Count, next =>
        {
            a.test(__byte_ptr[eax + Vma.Flags], (byte)Vma.Used);
            a.jz(next);
            a.cmp(edx, __dword_ptr[eax + Vma.Start]);
            a.jb(next);
            a.cmp(edx, __dword_ptr[eax + Vma.End]);
            a.jb(found);
        });
        a.xor(eax, eax);
        c.Bind(ref found);
        a.ret();

        // handle_fault(EAX = address, EDX = error code) -> 0 when resolved (demand-zero or copy-on-write), else 1.
        k.Bind("handle_fault");
        c.Save(ebx, esi, edi, ebp);
        a.mov(esi, eax);
        a.mov(edi, edx);
        a.and(edi, (int)W);                  // error code bit 1: write access
        var fail = c.NewLabel();
        var ret = c.NewLabel();
        a.mov(eax, c.Current);
        a.mov(edx, esi);
        k.Call("find_vma");
        a.test(eax, eax);
        a.jz(fail);
        a.mov(ebx, eax);
        a.mov(eax, c.Current);
        a.mov(eax, __dword_ptr[eax + Proc.PageDirectory]);
        a.mov(edx, esi);
        k.Call("pte_lookup_create");
        a.test(eax, eax);
        a.jz(fail);
        a.mov(ebp, eax);
        a.mov(eax, __dword_ptr[ebp]);
        var present = c.NewLabel();
        a.test(al, (byte)P);
        a.jnz(present);

        // Demand-zero.
        k.Call("frame_alloc_zeroed");
        a.test(eax, eax);
        a.jz(fail);
        a.or(eax, P | U);
        var readOnly = c.NewLabel();
        a.test(__byte_ptr[ebx + Vma.Flags], (byte)Vma.Writable);
        a.jz(readOnly);
        a.or(eax, W);
        c.Bind(ref readOnly);
        pv.SetEntry(ebp, eax);
        a.xor(eax, eax);
        a.jmp(ret);

        // Copy-on-write: a write to a present read-only page of a writable area.
        c.Bind(ref present);
        a.test(edi, edi);
        a.jz(fail);
        a.test(al, (byte)W);
        a.jnz(fail);
        a.test(__byte_ptr[ebx + Vma.Flags], (byte)Vma.Writable);
        a.jz(fail);
        a.mov(edx, eax);
        a.and(edx, unchecked((int)Layout.FrameMask));
        var copy = c.NewLabel();
        var flush = c.NewLabel();
        a.cmp(edx, unchecked((int)Layout.PoolStart));
        a.jb(copy);
        a.mov(ecx, edx);
        a.shr(ecx, 12);
        a.cmp(__dword_ptr[ecx * 4 + Layout.FrameRefCounts], 1);
        a.jne(copy);
        a.or(eax, W);                        // the last sharer keeps the frame
        pv.SetEntry(ebp, eax);
        a.jmp(flush);
        c.Bind(ref copy);
        a.push(edx);
        k.Call("frame_alloc");
        a.pop(edx);
        a.test(eax, eax);
        a.jz(fail);
        c.Save(esi, edi);
        a.mov(esi, edx);
        a.mov(edi, eax);
        a.mov(ecx, 1024);
        a.rep.movsd();
        c.Restore(esi, edi);
        a.push(eax);
        a.mov(eax, edx);
        k.Call("frame_put");
        a.pop(eax);
        a.or(eax, P | U | W);
        pv.SetEntry(ebp, eax);
        c.Bind(ref flush);
        pv.FlushTlbEntry(esi);
        a.xor(eax, eax);
        a.jmp(ret);
        c.Bind(ref fail);
        a.mov(eax, 1);
        c.Bind(ref ret);
        c.Return(ebx, esi, edi, ebp);
    }

    /// <summary>
    /// Walks the pages from <paramref name="cursor"/> while <paramref name="compareEnd"/> (a cmp of the cursor with the
    /// end) says below, in the current address space, skipping 4 MiB where there is no page table; for each present
    /// page, <paramref name="present"/> runs with EAX = the PTE's address and ECX = the PTE.
    /// </summary>
    private static void EmitPresentPteWalk(KernelContext c, AssemblerRegister32 cursor, Action compareEnd, Action present)
    {
        var (k, a) = (c.K, c.A);
        var loop = c.NewLabel();
        var hasTable = c.NewLabel();
        var next = c.NewLabel();
        var done = c.NewLabel();
        c.Bind(ref loop);
        compareEnd();
        a.jae(done);
        a.mov(eax, c.Current);
        a.mov(eax, __dword_ptr[eax + Proc.PageDirectory]);
        a.mov(edx, cursor);
        k.Call("pte_lookup");
        a.test(eax, eax);
        a.jnz(hasTable);
        a.add(cursor, 0x40_0000);
        a.and(cursor, unchecked((int)0xFFC0_0000));
        a.jmp(loop);
        c.Bind(ref hasTable);
        a.mov(ecx, __dword_ptr[eax]);
        a.test(cl, (byte)P);
        a.jz(next);
        present();
        c.Bind(ref next);
        a.add(cursor, (int)Layout.Page);
        a.jmp(loop);
        c.Bind(ref done);
    }

    private static void EmitMappingCalls(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // unmap_range(EAX = start, EDX = end), page-aligned, in the current address space.
        k.Bind("unmap_range");
        c.Save(ebx, esi, edi, ebp);
        a.mov(esi, eax);
        a.mov(edi, edx);
        a.xor(ebp, ebp);
        pv.BeginBatch();
        EmitPresentPteWalk(c, esi, () => a.cmp(esi, edi), () =>
        {
            a.mov(ebx, eax);
            a.mov(eax, ecx);
            a.and(eax, unchecked((int)Layout.FrameMask));
            k.Call("frame_put");
            a.xor(eax, eax);
            pv.QueueEntry(ebx, eax);
            a.inc(ebp);
        });
        pv.EndBatch();
        var clean = c.NewLabel();
        a.test(ebp, ebp);
        a.jz(clean);
        pv.FlushTlbAll();
        c.Bind(ref clean);
        c.Return(ebx, esi, edi, ebp);

        // sys_brk(EBX = new end or 0) -> the heap's end.
        k.Bind("sys_brk");
        var brkDone = c.NewLabel();
        var grow = c.NewLabel();
        a.mov(esi, c.Current);
        a.mov(eax, __dword_ptr[esi + Proc.Brk]);
        a.test(ebx, ebx);
        a.jz(brkDone);
        a.cmp(ebx, __dword_ptr[esi + Proc.HeapStart]);
        a.jb(brkDone);
        a.cmp(ebx, unchecked((int)Layout.HeapLimit));
        a.ja(brkDone);
        a.lea(edi, __[ebx + (int)Layout.Page - 1]);
        a.and(edi, unchecked((int)Layout.FrameMask));
        const int heapEnd = Proc.Vmas + Vma.Heap * Vma.Size + Vma.End;
        a.mov(edx, __dword_ptr[esi + heapEnd]);
        a.cmp(edi, edx);
        a.jae(grow);
        a.mov(eax, edi);
        k.Call("unmap_range");
        c.Bind(ref grow);
        a.mov(__dword_ptr[esi + heapEnd], edi);
        a.mov(__dword_ptr[esi + Proc.Brk], ebx);
        a.mov(eax, ebx);
        c.Bind(ref brkDone);
        a.ret();

        // sys_mmap(EBX = length, ECX = protection) -> address of a new demand-zero area.
        k.Bind("sys_mmap");
        var invalid = c.NewLabel();
        a.test(ebx, ebx);
        a.jz(invalid);
        a.cmp(ebx, unchecked((int)Layout.MmapSlotSize));
        a.ja(invalid);
        a.mov(edi, c.Current);
        a.add(edi, Proc.Vmas + Vma.FirstMmap * Vma.Size);
        a.xor(edx, edx);
        var slot = c.NewLabel();
        var free = c.NewLabel();
        c.Bind(ref slot);
        a.test(__byte_ptr[edi + Vma.Flags], (byte)Vma.Used);
        a.jz(free);
        a.add(edi, Vma.Size);
        a.inc(edx);
        a.cmp(edx, Layout.MmapSlots);
        a.jb(slot);
        a.mov(eax, -Errno.ENOMEM);
        a.ret();
        c.Bind(ref free);
        a.mov(eax, edx);
        a.shl(eax, 27);
        a.add(eax, unchecked((int)Layout.MmapBase));
        a.mov(__dword_ptr[edi + Vma.Start], eax);
        a.lea(edx, __[ebx + (int)Layout.Page - 1]);
        a.and(edx, unchecked((int)Layout.FrameMask));
        a.add(edx, eax);
        a.mov(__dword_ptr[edi + Vma.End], edx);
        a.mov(edx, Vma.Used);
        var readOnly = c.NewLabel();
        a.test(ecx, (int)Prot.Write);
        a.jz(readOnly);
        a.or(edx, Vma.Writable);
        c.Bind(ref readOnly);
        a.mov(__dword_ptr[edi + Vma.Flags], edx);
        a.ret();
        c.Bind(ref invalid);
        a.mov(eax, -Errno.EINVAL);
        a.ret();

        // mmap_area(EAX = address, EDX = length) -> EAX = the mmap area that is exactly [address, address+length), or 0.
        k.Bind("mmap_area");
        a.push(ebx);
        var noArea = c.NewLabel();
        a.add(edx, (int)Layout.Page - 1);
        a.jc(noArea);
        a.and(edx, unchecked((int)Layout.FrameMask));
        a.add(edx, eax);
        a.jc(noArea);
        a.mov(ecx, c.Current);
        a.add(ecx, Proc.Vmas + Vma.FirstMmap * Vma.Size);
        var areaFound = c.NewLabel();
        c.ForEachEntry(ecx, Vma.Size, ebx, Layout.MmapSlots, next =>
        {
            a.test(__byte_ptr[ecx + Vma.Flags], (byte)Vma.Used);
            a.jz(next);
            a.cmp(eax, __dword_ptr[ecx + Vma.Start]);
            a.jne(next);
            a.cmp(edx, __dword_ptr[ecx + Vma.End]);
            a.je(areaFound);
        });
        c.Bind(ref noArea);
        a.xor(ecx, ecx);
        c.Bind(ref areaFound);
        a.mov(eax, ecx);
        a.pop(ebx);
        a.ret();

        // sys_munmap(EBX = address, ECX = length).
        k.Bind("sys_munmap");
        var badArea = c.NewLabel();
        a.mov(eax, ebx);
        a.mov(edx, ecx);
        k.Call("mmap_area");
        a.test(eax, eax);
        a.jz(badArea);
        a.mov(esi, eax);
        a.mov(edx, __dword_ptr[esi + Vma.End]);
        a.mov(eax, __dword_ptr[esi + Vma.Start]);
        k.Call("unmap_range");
        a.mov(__dword_ptr[esi + Vma.Flags], 0);
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref badArea);
        a.mov(eax, -Errno.EINVAL);
        a.ret();

        // sys_mprotect(EBX = address, ECX = length, EDX = protection): rewrites the PTEs of a whole mmap area.
        // Shared (copy-on-write) frames stay read-only; their next write fault copies them.
        k.Bind("sys_mprotect");
        a.mov(edi, edx);
        a.mov(eax, ebx);
        a.mov(edx, ecx);
        k.Call("mmap_area");
        a.test(eax, eax);
        a.jz(badArea);
        a.mov(esi, eax);
        a.and(__dword_ptr[esi + Vma.Flags], unchecked((int)~Vma.Writable));
        var keepRo = c.NewLabel();
        a.test(edi, (int)Prot.Write);
        a.jz(keepRo);
        a.or(__dword_ptr[esi + Vma.Flags], (int)Vma.Writable);
        c.Bind(ref keepRo);
        a.mov(ebx, __dword_ptr[esi + Vma.Start]);
        a.xor(ebp, ebp);
        pv.BeginBatch();
        EmitPresentPteWalk(c, ebx, () => a.cmp(ebx, __dword_ptr[esi + Vma.End]), () =>
        {
            var set = c.NewLabel();
            var same = c.NewLabel();
            a.mov(edx, ecx);
            a.and(edx, unchecked((int)~W));
            a.test(edi, (int)Prot.Write);
            a.jz(set);
            a.push(edx);
            a.mov(edx, ecx);
            a.shr(edx, 12);
            a.cmp(__dword_ptr[edx * 4 + Layout.FrameRefCounts], 1);
            a.pop(edx);
            a.jne(set);
            a.or(edx, W);
            c.Bind(ref set);
            a.cmp(edx, ecx);
            a.je(same);
            pv.QueueEntry(eax, edx);
            a.inc(ebp);
            c.Bind(ref same);
        });
        pv.EndBatch();
        var unchanged = c.NewLabel();
        a.test(ebp, ebp);
        a.jz(unchanged);
        pv.FlushTlbAll();
        c.Bind(ref unchanged);
        a.xor(eax, eax);
        a.ret();
    }
}
