using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel.Memory;

/// <summary>Address spaces: page directories that share the kernel's tables, teardown, fork's copy-on-write copy, and the vDSO mapping. Every write to a live page-table page goes through pv-ops.</summary>
internal static class AddressSpaces
{
    private const uint P = Layout.PtePresent, W = Layout.PteWritable, U = Layout.PteUser;
    private const int FirstUserPde = (int)(Layout.UserBase >> 22), EndUserPde = (int)(Layout.UserTop >> 22);

    public static void Emit(KernelContext c)
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
        PageTables.EmitNextNonZero(c, esi, end);
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
        PageTables.EmitNextNonZero(c, esi, copied);
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
        PageTables.EmitNextNonZero(c, esi, tableDone);
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

        // map_vdso(EAX = directory) -> 0, or nonzero without memory. Part of exec's batch.
        k.Bind("map_vdso");
        a.mov(edx, Layout.VdsoAddress);
        k.Call("pte_lookup_create");
        var fail = c.NewLabel();
        a.test(eax, eax);
        a.jz(fail);
        a.mov(edx, Layout.VdsoFrame | P | U);
        pv.QueueEntry(eax, edx);
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref fail);
        a.mov(eax, 1);
        a.ret();
    }
}
