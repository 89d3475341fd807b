using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel.Memory;

/// <summary>Page tables: the kernel's identity map and paging start-up, PTE lookup (creating tables on demand), and freeing the pages a table maps.</summary>
internal static class PageTables
{
    private const uint P = Layout.PtePresent, W = Layout.PteWritable, U = Layout.PteUser;

    public static void Emit(KernelContext c)
    {
        EmitPagingInit(c);
        EmitPageTables(c);
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
    /// <summary>
    /// Emits a scan for the next non-zero dword in [EDI, <paramref name="end"/>): jumps to <paramref name="done"/>
    /// when there is none, else falls through with EDI just past it. Clobbers EAX, ECX.
    /// </summary>
    internal static void EmitNextNonZero(KernelContext c, AssemblerRegister32 end, Label done)
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
}
