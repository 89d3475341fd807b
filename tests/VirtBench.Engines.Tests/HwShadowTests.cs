using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Engines.Tests;

/// <summary>
/// hw-shadow's shadow paging under VT-x, side by side with hw-ept's nested paging: in hw-shadow the guest's CR3 loads
/// and reads, invlpg, page faults and page-table writes exit (exact counts, VMCS accesses included, for small guests
/// and per operation of the workloads), in hw-ept none of them do and nested walks appear instead. The VMM both
/// engines share is tested in <see cref="VmxMonitorTests"/>.
/// </summary>
public class HwShadowTests
{
    /// <summary>Runs a guest natively and on hw-shadow: the same outcome and output, which shows <paramref name="expected"/>.</summary>
    private static EngineRun RunAsNatively(AssembledGuest guest, string expected)
    {
        var native = EngineFixtures.Run("native", guest.Image);
        var run = EngineFixtures.Run("hw-shadow", guest.Image);
        Assert.Contains(expected, native.UartOutput);
        Assert.Equal(native.UartOutput, run.UartOutput);
        Assert.Equal(native.Outcome, run.Outcome);
        return run;
    }

    // ---- Small guests ----

    [Fact]
    public void Guest_cr3_accesses_invlpg_and_a_page_table_write_each_exit_in_hw_shadow_and_none_does_in_hw_ept()
    {
        const uint data = TestPages + 0x5000, other = TestPages + 0x6000;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            k.ContinueOnNewPage();
            a.mov(eax, __dword_ptr[data]);    // first touch, before the region: mapped in the nested tables, or the shadow
            k.Bench(Platform.BenchBegin);
            a.mov(eax, cr3);
            a.mov(cr3, eax);
            a.mov(eax, __dword_ptr[data]);
            a.invlpg(__[data]);
            a.mov(__dword_ptr[PteAddress(other)], other | Present | Writable);
            k.Bench(Platform.BenchEnd);
            k.Exit(0);
        }, new KernelOptions { Paging = true });
        var native = EngineFixtures.Run("native", guest.Image);
        var shadow = EngineFixtures.Run("hw-shadow", guest.Image);
        var ept = EngineFixtures.Run("hw-ept", guest.Image);
        Assert.Equal(native.UartOutput, shadow.UartOutput);
        Assert.Equal(native.UartOutput, ept.UartOutput);
        var (n, s, e) = (native.Measured!, shadow.Measured!, ept.Measured!);
        Assert.Equal((3ul, 7ul), (n[Event.TlbMiss], n[Event.PageWalkReference])); // code, data and page-table pages; 2 + 2 + 2 + an A/D update

        // hw-ept: the guest's own paging, walked in two dimensions; only the write that closes the region exits.
        Assert.Equal((n[Event.TlbMiss], n[Event.PageWalkReference]), (e[Event.TlbMiss], e[Event.PageWalkReference]));
        Assert.Equal((1ul, 1ul), (e[Event.TlbFlush], e[Event.TlbFlushPage]));
        Assert.Equal((0ul, 18ul), (n[Event.NestedWalkReference], e[Event.NestedWalkReference]));
        Assert.Equal((0ul, 0ul, 0ul, 0ul), (e[Event.ExitCrAccess], e[Event.ExitCr3Load], e[Event.ExitInvlpg], e[Event.ExitPageFault]));
        Assert.Equal(1ul, EngineFixtures.Exits(e));

        // hw-shadow: the CR3 read, the CR3 load (to the cached shadow), the invlpg and the page-table write each exit,
        // and so does the write that closes the region; no nested reference.
        Assert.Equal((1ul, 1ul, 1ul, 1ul, 1ul), (s[Event.ExitCrAccess], s[Event.ExitCr3Load], s[Event.ExitInvlpg], s[Event.ExitPageFault], s[Event.ExitIo]));
        Assert.Equal(5ul, EngineFixtures.Exits(s));
        Assert.Equal((1ul, 0ul, 0ul), (s[Event.ShadowSwitch], s[Event.ShadowCreate], s[Event.HiddenPageFault]));
        Assert.Equal(1ul, s[Event.TracingFault]);
        Assert.Equal(0ul, s[Event.ShadowUpdate]);        // the new entry's A is clear: not prefetched, and nothing was mapped there
        Assert.Equal((3ul, 1ul), (s.Emulations(Mnemonic.Mov), s.Emulations(Mnemonic.Invlpg))); // CR3 read, CR3 load, the write
        Assert.Equal(0ul, s[Event.NestedWalkReference]);
        // VMCS accesses: the end of the exit that opened the region (3 reads, RIP written); the CR3 read and invlpg
        // (6 reads, RIP written); the CR3 load (6 reads, the guest CR3 and RIP written); the traced write (exit
        // reason, IDT-vectoring and interruption information, error code, address, RIP, CS base, SS rights, RFLAGS,
        // interruptibility read; RIP and RFLAGS written); the start of the exit that closes the region (3 reads).
        Assert.Equal(3ul + 6 + 6 + 6 + 10 + 3, s[Event.VmcsRead]);
        Assert.Equal(1ul + 1 + 2 + 1 + 2, s[Event.VmcsWrite]);
        Assert.Equal(5ul, s[Event.VmEntry]);
        // No VPID: every entry flushes the TLB, and the guest's CR3 load flushes it once more.
        Assert.Equal((6ul, 1ul), (s[Event.TlbFlush], s[Event.TlbFlushPage]));
    }

    [Fact]
    public void A_guest_page_fault_is_injected_its_handlers_page_table_write_emulated_and_the_retry_filled_by_a_hidden_fault()
    {
        const int rounds = 30;
        const uint absent = TestPages + 0x7000;
        var guest = TestKernel.Build(k =>
        {
            var (a, p) = (k.Asm, k.Program);
            var handler = p.CreateLabel("pf_handler");
            var round = p.CreateLabel("round");
            k.SetGate(Vectors.PF, handler);
            k.SetPte(absent, 0);
            k.ContinueOnNewPage();
            a.mov(esi, 1);
            a.call(round);                   // a first round maps every page the rounds use (code, stack, IDT, GDT)
            k.Bench(Platform.BenchBegin, rounds);
            a.mov(esi, rounds);
            a.call(round);
            k.Bench(Platform.BenchEnd);
            k.Exit(0);

            // Each round: a read of the absent page (the guest's page fault, whose handler maps the page), then the
            // mapping removed again.
            p.Place(ref round);
            a.mov(eax, __dword_ptr[absent]);
            a.mov(__dword_ptr[PteAddress(absent)], 0);
            a.invlpg(__[absent]);
            a.dec(esi);
            a.jnz(round);
            a.ret();

            p.Place(ref handler);
            a.mov(__dword_ptr[PteAddress(absent)], absent | Present | Writable);
            a.add(esp, 4);                   // the error code
            a.iretd();
        }, new KernelOptions { Paging = true });
        var native = EngineFixtures.Run("native", guest.Image);
        var run = EngineFixtures.Run("hw-shadow", guest.Image);
        Assert.True(run.Outcome.IsSuccess, run.Outcome.ToString());
        Assert.Equal(native.UartOutput, run.UartOutput);
        var (n, m) = (native.Measured!, run.Measured!);
        const ulong r = rounds;
        Assert.Equal(r, n[Event.ExceptionDelivered]);
        Assert.Equal(n[Event.ExceptionDelivered], m[Event.ExceptionDelivered]);
        // Per round: the guest's fault (injected), the handler's write and the round's own write to the traced page
        // table (emulated), the retried read (a hidden fault that fills the shadow and sets A), the invlpg.
        Assert.Equal((4 * r, r, 2 * r, r), (m[Event.ExitPageFault], m[Event.ExitInvlpg], m[Event.TracingFault], m[Event.HiddenPageFault]));
        Assert.Equal(5 * r + 1, EngineFixtures.Exits(m));
        Assert.Equal(r, m[Event.InterruptInjection]);
        Assert.Equal(2 * r, m[Event.ShadowUpdate]);           // the fill, and the emulated removal clearing it
        Assert.Equal(r, m[Event.AccessedDirtyReflected]);
        // VMCS reads per round: 5 for the injected fault, 10 for each emulated write, 5 for the hidden fault, 6 for
        // the invlpg; writes: the entry information and error code, RIP and RFLAGS per emulated write, RIP after
        // invlpg. The region adds the end of its opening exit and the start of its closing one.
        Assert.Equal(36 * r + 3 + 3, m[Event.VmcsRead]);
        Assert.Equal(7 * r + 1, m[Event.VmcsWrite]);
        Assert.Equal(5 * r + 1, m[Event.VmEntry]);
    }

    [Fact]
    public void Switching_back_to_an_address_space_uses_its_cached_shadow()
    {
        const uint second = TestPages + 0x8000;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            a.mov(esi, PageDirectory);       // a second address space: a copy of the first directory
            a.mov(edi, second);
            a.mov(ecx, 1024);
            a.rep.movsd();
            k.ContinueOnNewPage();
            k.Bench(Platform.BenchBegin);
            foreach (uint directory in new[] { second, PageDirectory, second, PageDirectory })
            {
                a.mov(eax, directory);
                a.mov(cr3, eax);
            }
            k.Bench(Platform.BenchEnd);
            k.Exit(0);
        }, new KernelOptions { Paging = true });
        var m = EngineFixtures.Run("hw-shadow", guest.Image).Measured!;
        Assert.Equal(4ul, m[Event.ExitCr3Load]);
        Assert.Equal((1ul, 3ul, 0ul), (m[Event.ShadowCreate], m[Event.ShadowSwitch], m[Event.ShadowDiscard]));
        // The new directory's page becomes traced (its writable mapping, left by the copy, is write-protected); its
        // shadow starts empty, and its first fetch links the shadow of the page table both directories share, which
        // is not built again.
        Assert.Equal((1ul, 2ul), (m[Event.HiddenPageFault], m[Event.ShadowUpdate]));
    }

    [Fact]
    public void A_kernel_write_to_a_read_only_page_with_WP_clear_is_emulated_as_the_bare_machine_lets_it_through()
    {
        const uint page = TestPages + 0x9000;
        var guest = TestKernel.Build(k =>
        {
            var (a, p) = (k.Asm, k.Program);
            k.SetPte(page, page | Present);  // read-only, supervisor; the kernel runs with CR0.WP clear
            k.Bench(Platform.BenchBegin);
            a.mov(__dword_ptr[page], 0xCAFE_F00Du);
            k.Bench(Platform.BenchEnd);
            k.Serial.PrintHex(p, page);
            k.Exit(0);
        }, new KernelOptions { Paging = true });
        var m = RunAsNatively(guest, "cafef00d").Measured!;
        Assert.Equal((1ul, 0ul, 0ul), (m[Event.ExitPageFault], m[Event.TracingFault], m[Event.HiddenPageFault]));
        Assert.Equal(1ul, m.Emulations(Mnemonic.Mov));
    }

    [Fact]
    public void The_guest_owns_the_top_of_its_linear_space_where_software_vmms_keep_their_own()
    {
        const uint top = 0xFFC0_0000;
        var guest = TestKernel.Build(k =>
        {
            var (a, p) = (k.Asm, k.Program);
            a.mov(__dword_ptr[PageDirectory + 1023 * 4], PageTable | Present | Writable); // the last 4 MiB alias the first
            a.mov(__dword_ptr[top + Scratch], 0x1234_5678u);
            k.Serial.PrintHex(p, Scratch);
            k.Exit(0);
        }, new KernelOptions { Paging = true });
        RunAsNatively(guest, "12345678");
    }

    [Fact]
    public void A_page_fault_while_delivering_a_page_fault_is_a_double_fault_and_one_while_delivering_that_a_triple_fault()
    {
        const uint stack = TestPages + 0xA000, absent = TestPages + 0xB000;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            k.SetPte(stack, 0);
            k.SetPte(absent, 0);
            a.mov(esp, stack + 0x1000);      // every frame the CPU pushes faults
            a.mov(eax, __dword_ptr[absent]);
            k.Exit(0);
        }, new KernelOptions { Paging = true });
        var native = EngineFixtures.Run("native", guest.Image);
        var run = EngineFixtures.Run("hw-shadow", guest.Image);
        Assert.Equal(OutcomeKind.TripleFault, native.Outcome.Kind);
        Assert.Equal(OutcomeKind.TripleFault, run.Outcome.Kind);
        Assert.Contains("while delivering a double fault", run.Outcome.Message);
        // Besides the two page-table writes: the guest's fault, the one its delivery takes (injected as #DF), and the
        // one the double fault's delivery takes.
        var t = run.Total;
        Assert.Equal((3ul, 2ul), (t[Event.ExitPageFault] - t[Event.HiddenPageFault] - t[Event.TracingFault], t[Event.InterruptInjection]));
    }

    [Fact]
    public void A_guest_that_turns_protected_mode_off_stops_the_run_with_the_reason()
    {
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            a.mov(eax, cr0);
            a.and(eax, ~1);
            a.mov(cr0, eax);
            k.Exit(0);
        });
        var run = EngineFixtures.Run("hw-shadow", guest.Image);
        Assert.Equal(OutcomeKind.EngineStop, run.Outcome.Kind);
        Assert.Contains("turned protected mode off", run.Outcome.Message);
    }

    // ---- The workloads, per operation ----

    /// <summary>Per operation, exactly: the difference between two runs of the workload, divided by their difference in operations.</summary>
    private static Func<Event, double> PerOperation(string engine, string workload, uint small, uint large)
    {
        var (a, b) = (EngineFixtures.Run(engine, workload, small), EngineFixtures.Run(engine, workload, large));
        Assert.True(a.Outcome.IsSuccess && b.Outcome.IsSuccess, $"{a.Outcome} / {b.Outcome}");
        double operations = b.Operations - a.Operations;
        return e => (b.Measured![e] - (double)a.Measured![e]) / operations;
    }

    [Fact]
    public void Ptemod_costs_a_tracing_fault_an_invlpg_and_a_hidden_fault_per_entry_change_in_hw_shadow_and_no_exit_in_hw_ept()
    {
        // kbench ptemod: per iteration one store to the fixmap page table, an invlpg, and a read through the window.
        var s = PerOperation("hw-shadow", "ptemod", 100, 200);
        Assert.Equal((2.0, 1.0), (s(Event.ExitPageFault), s(Event.ExitInvlpg)));
        Assert.Equal((1.0, 1.0), (s(Event.TracingFault), s(Event.HiddenPageFault))); // the new entry has A clear: filled on first use
        Assert.Equal((2.0, 1.0), (s(Event.ShadowUpdate), s(Event.AccessedDirtyReflected)));
        Assert.Equal((21.0, 3.0, 3.0), (s(Event.VmcsRead), s(Event.VmcsWrite), s(Event.VmEntry))); // 10 + 6 + 5 reads; 2 + 1 writes
        Assert.Equal(0.0, s(Event.NestedWalkReference));

        var e = PerOperation("hw-ept", "ptemod", 100, 200);
        Assert.Equal((0.0, 0.0, 0.0), (e(Event.ExitPageFault), e(Event.ExitInvlpg), e(Event.VmEntry)));
        Assert.Equal((1.0, 6.0), (e(Event.TlbMiss), e(Event.NestedWalkReference))); // the window's miss, walked in two dimensions
    }

    [Fact]
    public void Ctxswitch_switches_between_two_cached_shadows_with_two_cr3_exits_per_round_trip()
    {
        // Two processes ping-pong through a pipe: a CR3 load at every switch, always to a shadow already built.
        var s = PerOperation("hw-shadow", "ctxswitch", 100, 200);
        Assert.Equal((2.0, 2.0, 0.0), (s(Event.ExitCr3Load), s(Event.ShadowSwitch), s(Event.ShadowCreate)));
        Assert.Equal((0.0, 0.0, 0.0), (s(Event.ExitPageFault), s(Event.ShadowDiscard), s(Event.NestedWalkReference)));

        var e = PerOperation("hw-ept", "ctxswitch", 100, 200);
        Assert.Equal((0.0, 0.0), (e(Event.ExitCr3Load), e(Event.ExitPageFault)));
        Assert.True(e(Event.NestedWalkReference) >= 2 * e(Event.TlbMiss), "every miss walks the nested tables");
    }

    [Fact]
    public void Forkwait_exits_for_every_address_space_change_and_page_table_write_of_a_fork_in_hw_shadow()
    {
        var s = PerOperation("hw-shadow", "forkwait", 20, 40);
        // CR3: to the child, to the swapper directory when the child exits, back to the parent, and the reload that
        // flushes the TLB after the fork write-protected the parent (with its CR3 read).
        Assert.Equal((4.0, 1.0), (s(Event.ExitCr3Load), s(Event.ExitCrAccess)));
        Assert.Equal((1.0, 3.0), (s(Event.ShadowCreate), s(Event.ShadowSwitch))); // the child's directory is new every time
        // Page faults: the parent's copy-on-write fault (the guest's own, injected; its handler ends with the invlpg);
        // 4 traced writes emulated (the exiting child's two user directory entries cleared, the copy-on-write entry,
        // the fork write-protecting it again); the fork zeroing the previous child's directory with rep stos, which
        // unshadows it (with the table its shadow still linked) and runs again; 5 hidden faults (the child's kernel
        // code, kernel stack and user code tables linked, the zeroed directory and the new child's table made writable).
        Assert.Equal((11.0, 1.0, 1.0), (s(Event.ExitPageFault), s(Event.ExceptionDelivered), s(Event.ExitInvlpg)));
        Assert.Equal((4.0, 5.0, 2.0), (s(Event.TracingFault), s(Event.HiddenPageFault), s(Event.ShadowDiscard)));

        var e = PerOperation("hw-ept", "forkwait", 20, 40);
        Assert.Equal((0.0, 0.0, 0.0, 0.0), (e(Event.ExitCr3Load), e(Event.ExitCrAccess), e(Event.ExitInvlpg), e(Event.ExitPageFault)));
        Assert.Equal(1.0, e(Event.ExceptionDelivered)); // the copy-on-write fault goes straight to the guest
    }
}
