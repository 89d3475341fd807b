using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel.Memory;

/// <summary>The page-frame allocator: a stack of free frames (ascending order at boot) with a reference count per frame, so that copy-on-write can share frames.</summary>
internal static class FrameAllocator
{

    public static void Emit(KernelContext c)
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
}
