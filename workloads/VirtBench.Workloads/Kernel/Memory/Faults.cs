using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel.Memory;

/// <summary>Page-fault resolution: virtual memory areas, demand-zero pages and copy-on-write.</summary>
internal static class Faults
{
    private const uint P = Layout.PtePresent, W = Layout.PteWritable, U = Layout.PteUser;

    public static void Emit(KernelContext c)
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
}
