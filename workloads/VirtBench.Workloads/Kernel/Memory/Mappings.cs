using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel.Memory;

/// <summary>The mapping calls brk, mmap, munmap and mprotect, over a walk of the present PTEs of a range.</summary>
internal static class Mappings
{
    private const uint P = Layout.PtePresent, W = Layout.PteWritable, U = Layout.PteUser;

    public static void Emit(KernelContext c)
    {
        EmitMappingCalls(c);
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
