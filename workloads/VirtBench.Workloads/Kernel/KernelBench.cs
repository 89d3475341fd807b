using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// Kernel-mode nanobenchmark loops (the kbench call), after Adams and Agesen's: each iteration performs one
/// sensitive operation in the kernel and mixes a value into a checksum, so the work is observable.
/// </summary>
internal static class KernelBench
{
    /// <summary>What the two ptemod frames hold at their first dword.</summary>
    public const uint PtemodValueA = 0xA5A5_0001, PtemodValueB = 0x5A5A_0002;

    public static void Emit(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // sys_kbench(EBX = kind, ECX = count) -> checksum over count..1.
        k.Bind("sys_kbench");
        a.mov(esi, ecx);
        a.mov(edi, unchecked((int)Assembly.Fnv.Offset));
        var done = c.NewLabel();
        var invalid = c.NewLabel();
        a.test(esi, esi);
        a.jz(done);
        string[] kinds = ["kbench.in", "kbench.irqflags", "kbench.callret", "kbench.ptemod"];
        for (int i = 0; i < kinds.Length; i++)
        {
            a.cmp(ebx, i);
            a.je(k.Label(kinds[i]));
        }
        c.Bind(ref invalid);
        a.mov(eax, -Errno.EINVAL);
        a.ret();

        // in: read the master PIC's interrupt mask.
        k.Bind("kbench.in");
        var inLoop = c.NewLabel();
        c.Bind(ref inLoop);
        a.mov(edx, Machine.Platform.PicMasterData);
        pv.PortIn8();
        a.movzx(eax, al);
        c.Mix(edi, eax);
        a.dec(esi);
        a.jnz(inLoop);
        a.jmp(done);

        // irqflags: local_irq_save/restore and local_irq_disable/enable.
        k.Bind("kbench.irqflags");
        var flagsLoop = c.NewLabel();
        c.Bind(ref flagsLoop);
        pv.IrqSave(eax);
        pv.IrqRestore(eax);
        pv.IrqDisable();
        pv.IrqEnable();
        c.Mix(edi, esi);
        a.dec(esi);
        a.jnz(flagsLoop);
        a.jmp(done);

        // callret: a call and a return per iteration.
        k.Bind("kbench.callret");
        var callLoop = c.NewLabel();
        c.Bind(ref callLoop);
        a.mov(eax, esi);
        k.Call("kbench.leaf");
        c.Mix(edi, eax);
        a.dec(esi);
        a.jnz(callLoop);
        a.jmp(done);
        k.Bind("kbench.leaf");
        a.lea(eax, __[eax + eax + 1]);
        a.ret();

        // ptemod: remap a kernel window between two frames, flush its TLB entry, read through it.
        k.Bind("kbench.ptemod");
        a.mov(__dword_ptr[Layout.PtemodFrameA], unchecked((int)PtemodValueA));
        a.mov(__dword_ptr[Layout.PtemodFrameB], unchecked((int)PtemodValueB));
        a.mov(ebx, Layout.FixmapPageTable);
        a.mov(ecx, Layout.PtemodWindow);
        var pteLoop = c.NewLabel();
        c.Bind(ref pteLoop);
        a.mov(eax, esi);
        a.and(eax, 1);
        a.shl(eax, 12);
        a.add(eax, Layout.PtemodFrameA | Layout.PtePresent | Layout.PteWritable);
        pv.SetEntry(ebx, eax);
        pv.FlushTlbEntry(ecx);
        a.mov(eax, __dword_ptr[Layout.PtemodWindow]);
        c.Mix(edi, eax);
        a.dec(esi);
        a.jnz(pteLoop);
        a.xor(eax, eax);
        pv.SetEntry(ebx, eax);
        pv.FlushTlbEntry(ecx);

        c.Bind(ref done);
        a.mov(eax, edi);
        a.ret();
    }

    /// <summary>The checksum kbench returns, computed in C#.</summary>
    public static uint Expected(uint kind, uint count)
    {
        uint h = Assembly.Fnv.Offset;
        for (uint i = count; i >= 1; i--)
        {
            uint v = kind switch
            {
                KernelBenchKind.In => Drivers.PicMasterMask,
                KernelBenchKind.IrqFlags => i,
                KernelBenchKind.CallRet => unchecked(i * 2 + 1),
                KernelBenchKind.PteMod => (i & 1) == 0 ? PtemodValueA : PtemodValueB,
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            };
            h = Assembly.Fnv.Mix(h, v);
        }
        return h;
    }
}
