using VirtBench.Engines.HardwareAssisted;
using VirtBench.Machine;
using VirtBench.Machine.Tests.Guest;
using VirtBench.Workloads;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Engines.Tests;

/// <summary>
/// hw-ept: what exits and what does not, exactly. The workloads show the signature (no exit per system call, one
/// per port access or cpuid); small test-kernel guests pin down the VMM's behaviour (VMCS accesses per exit,
/// blocking in hlt, injection at the interrupt window, guest paging without exits, MSRs, nested tables).
/// </summary>
public class HwEptTests
{
    private static EngineRun Run(string engine, GuestImage image) => EngineCatalog.Get(engine).Run(image, EngineFixtures.Options);

    private static ulong Exits(Counters c) =>
        EventInfo.All.Where(e => EventInfo.CategoryOf(e) == EventCategory.VmExits).Aggregate(0ul, (sum, e) => sum + c[e]);

    /// <summary>
    /// Emits reads of the timer's IDT gate and a push on the kernel stack, so that the nested tables map those pages
    /// before the first interrupt: otherwise its delivery takes an EPT violation and is injected a second time.
    /// </summary>
    private static void TouchDeliveryPages(TestKernel k)
    {
        k.Asm.mov(eax, __dword_ptr[k.IdtAddress + TestKernel.TimerVector * 8]);
        k.Asm.push(eax);
        k.Asm.pop(eax);
    }

    // ---- The workloads ----

    [Theory]
    [InlineData(2000u)]
    [InlineData(4000u)]
    public void A_system_call_never_exits(uint calls)
    {
        var run = EngineFixtures.Run("hw-ept", "syscall", calls);
        var m = run.Measured!;
        ulong ticks = m[Event.ExitExternalInterrupt];
        Assert.Equal(run.Operations + 1, m[Event.SoftwareInterruptDelivered]); // the calls, and the one that closes the region
        // Every exit is a timer tick's (its exit, perhaps a window, its end-of-interrupt write), a first touch of
        // guest RAM, or the port write that closes the region.
        Assert.Equal(ticks + 1, m[Event.ExitIo]);
        Assert.InRange(m[Event.ExitInterruptWindow], 0ul, ticks);
        Assert.Equal(ticks + m[Event.ExitInterruptWindow] + m[Event.ExitIo] + m[Event.ExitEptViolation], Exits(m));
        Assert.Equal(ticks, m[Event.InterruptInjection]);
    }

    [Fact]
    public void The_exits_of_the_syscall_region_do_not_grow_with_the_calls()
    {
        ulong NonTimerExits(uint calls)
        {
            var m = EngineFixtures.Run("hw-ept", "syscall", calls).Measured!;
            return Exits(m) - 2 * m[Event.ExitExternalInterrupt] - m[Event.ExitInterruptWindow]; // each tick: its exit and its EOI
        }
        ulong small = NonTimerExits(2000), large = NonTimerExits(4000);
        Assert.Equal(small, large);
        Assert.Equal(0ul, (large - small) / 2000); // exits per additional system call
    }

    [Fact]
    public void Each_cpuid_exits_once_and_each_port_read_once()
    {
        var cpuid = EngineFixtures.Run("hw-ept", "cpuid", 500);
        Assert.Equal(cpuid.Operations, cpuid.Measured![Event.ExitCpuid]);

        var input = EngineFixtures.Run("hw-ept", "in", 500);
        var m = input.Measured!;
        Assert.Equal(input.Operations + m[Event.ExitExternalInterrupt] + 1, m[Event.ExitIo]); // the reads, each tick's EOI, the closing write
        Assert.Equal(m[Event.ExitIo], m[Event.DeviceEmulation]);
    }

    [Theory]
    [InlineData("forkwait")]
    [InlineData("ptemod")]
    [InlineData("pgfault")]
    [InlineData("mmap")]
    public void Address_space_switches_tlb_flushes_page_table_writes_and_page_faults_stay_in_the_guest(string workload)
    {
        var run = EngineFixtures.Run("hw-ept", workload, EngineFixtures.SmallIterations(workload));
        var total = run.Total;
        Assert.Equal((0ul, 0ul, 0ul, 0ul), (total[Event.ExitCr3Load], total[Event.ExitInvlpg], total[Event.ExitPageFault], total[Event.ExitException]));
        Assert.Equal(1ul, total[Event.ExitCrAccess]); // the kernel turning paging on
        var m = run.Measured!;
        Assert.True(m[Event.TlbFlush] + m[Event.TlbFlushPage] > 0, "the workload should flush translations");
        // A complete walk makes 6 nested references, one that faults in the guest's tables fewer.
        Assert.InRange(m[Event.NestedWalkReference], 2 * m[Event.TlbMiss], 6 * m[Event.TlbMiss]);
    }

    // ---- Small guests ----

    [Fact]
    public void A_cpuid_exit_reads_five_vmcs_fields_and_writes_one()
    {
        const int n = 40;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            k.ContinueOnNewPage();
            k.Bench(Platform.BenchBegin, n);
            a.mov(esi, n);
            var loop = k.Program.CreateLabel("loop");
            k.Program.Place(ref loop);
            a.xor(eax, eax);
            a.cpuid();
            a.dec(esi);
            a.jnz(loop);
            k.Bench(Platform.BenchEnd);
            k.Exit(0);
        });
        var m = Run("hw-ept", guest.Image).Measured!;
        // Each cpuid: exit reason, IDT-vectoring information, instruction length, RIP and interruptibility read;
        // RIP written. The region also holds the end of the exit that opened it (3 reads, RIP written, the entry)
        // and the start of the exit that closes it (reason, IDT-vectoring information, qualification).
        Assert.Equal((ulong)n, m[Event.ExitCpuid]);
        Assert.Equal(1ul, m[Event.ExitIo]);
        Assert.Equal(5ul * n + 6, m[Event.VmcsRead]);
        Assert.Equal((ulong)n + 1, m[Event.VmcsWrite]);
        Assert.Equal((ulong)n + 1, m[Event.VmEntry]);
    }

    [Fact]
    public void A_halted_vcpu_blocks_in_the_vmm_and_takes_each_timer_interrupt_on_its_next_entry()
    {
        const int halts = 10;
        Iced.Intel.Label count = default;
        var guest = TestKernel.Build(k =>
        {
            var (a, p) = (k.Asm, k.Program);
            var timer = p.CreateLabel("timer");
            count = p.CreateLabel("count");
            k.SetGate(TestKernel.TimerVector, timer);
            TouchDeliveryPages(k);
            k.StartTimer(1000);
            k.Bench(Platform.BenchBegin, halts);
            a.mov(esi, halts);
            a.sti();
            var loop = p.CreateLabel("loop");
            p.Place(ref loop);
            a.hlt();
            a.dec(esi);
            a.jnz(loop);
            a.cli();
            k.Bench(Platform.BenchEnd);
            k.Exit(0);
            p.Place(ref timer);
            a.inc(__dword_ptr[p.Address(count)]);
            a.push(eax);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.pop(eax);
            a.iretd();
            p.Place(ref count);
            a.dd(0u);
        });
        var native = Run("native", guest.Image);
        var hw = Run("hw-ept", guest.Image);
        Assert.Equal(native.UartOutput, hw.UartOutput);
        var (n, m) = (native.Measured!, hw.Measured!);
        Assert.Equal((ulong)halts, m[Event.ExitHlt]);
        Assert.Equal((ulong)halts, m[Event.InterruptInjection]);
        Assert.Equal(0ul, m[Event.ExitExternalInterrupt]);           // the interrupt woke the VMM, not the guest
        Assert.Equal((ulong)halts + 1, m[Event.ExitIo]);             // the handler's end-of-interrupt writes, the closing write
        Assert.Equal(n[Event.InterruptDelivered], m[Event.InterruptDelivered]);
        Assert.Equal((ulong)halts, n.Instructions(Iced.Intel.Mnemonic.Hlt));
        Assert.Equal(0ul, m.Instructions(Iced.Intel.Mnemonic.Hlt));        // emulated, never retired
        Assert.True(m[Event.IdleInstructions] >= n[Event.IdleInstructions]); // blocked in the VMM as long as halted natively, at least
    }

    [Fact]
    public void An_interrupt_for_a_guest_with_IF_0_waits_for_the_window_and_arrives_where_it_would_natively()
    {
        Iced.Intel.Label after = default, log = default;
        var guest = TestKernel.Build(k =>
        {
            var (a, p) = (k.Asm, k.Program);
            var timer = p.CreateLabel("timer");
            log = p.CreateLabel("log");
            k.SetGate(TestKernel.TimerVector, timer);
            TouchDeliveryPages(k);
            k.StartTimer(100);
            a.mov(ecx, 2000);                   // the timer fires while IF = 0
            var loop = p.CreateLabel("loop");
            p.Place(ref loop);
            a.dec(ecx);
            a.jnz(loop);
            a.sti();
            a.nop();                            // the sti shadow
            after = p.CreateLabel("after");
            p.Place(ref after);
            a.cli();
            k.Serial.Print(p, "interrupted at ");
            k.Serial.PrintHex(p, p.Address(log));
            k.Exit(0);
            p.Place(ref timer);
            a.mov(eax, __dword_ptr[esp]);
            a.mov(__dword_ptr[p.Address(log)], eax);
            a.mov(al, 0xFF);
            a.@out(0x21, al);                   // one interrupt only
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iretd();
            p.Place(ref log);
            a.dd(0u);
        });
        var native = Run("native", guest.Image);
        var hw = Run("hw-ept", guest.Image);
        Assert.True(hw.Outcome.IsSuccess, hw.Outcome.ToString());
        Assert.Contains($"interrupted at {guest.Address(after):x8}", native.UartOutput);
        Assert.Equal(native.UartOutput, hw.UartOutput);
        var t = hw.Total;
        Assert.Equal((1ul, 1ul, 1ul), (t[Event.ExitExternalInterrupt], t[Event.ExitInterruptWindow], t[Event.InterruptInjection]));
    }

    [Fact]
    public void Guest_cr3_loads_invlpg_and_page_table_writes_do_not_exit_and_each_miss_makes_six_nested_references()
    {
        const uint data = TestPages + 0x5000, other = TestPages + 0x6000;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            k.ContinueOnNewPage();
            a.mov(eax, __dword_ptr[data]);    // first touch, before the region: the nested tables map the page
            k.Bench(Platform.BenchBegin);
            a.mov(eax, cr3);
            a.mov(cr3, eax);
            a.mov(eax, __dword_ptr[data]);
            a.invlpg(__[data]);
            a.mov(__dword_ptr[PteAddress(other)], other | Present | Writable);
            k.Bench(Platform.BenchEnd);
            k.Exit(0);
        }, new KernelOptions { Paging = true });
        var n = Run("native", guest.Image).Measured!;
        var m = Run("hw-ept", guest.Image).Measured!;
        Assert.Equal((3ul, 7ul), (n[Event.TlbMiss], n[Event.PageWalkReference])); // code, data and page-table pages; 2 + 2 + 2 + an A/D update
        Assert.Equal((n[Event.TlbMiss], n[Event.PageWalkReference]), (m[Event.TlbMiss], m[Event.PageWalkReference]));
        Assert.Equal((1ul, 1ul), (m[Event.TlbFlush], m[Event.TlbFlushPage]));
        Assert.Equal(0ul, n[Event.NestedWalkReference]);
        Assert.Equal(18ul, m[Event.NestedWalkReference]);
        Assert.Equal((0ul, 0ul), (m[Event.ExitCr3Load], m[Event.ExitInvlpg]));
        Assert.Equal(1ul, Exits(m)); // the write that closes the region
    }

    [Fact]
    public void Sysenter_msrs_pass_through_and_an_unknown_msr_exits_and_faults_as_on_the_machine()
    {
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            a.mov(ecx, Machine.Cpu.Msrs.SysenterCs);
            a.rdmsr();
            a.wrmsr();
            a.mov(ecx, 0x1B);                  // IA32_APIC_BASE: this machine has no APIC
            a.rdmsr();
            k.Exit(0);
        });
        var native = Run("native", guest.Image);
        var hw = Run("hw-ept", guest.Image);
        Assert.Contains("#0d err=00000000", native.UartOutput);
        Assert.Equal(native.UartOutput, hw.UartOutput);
        Assert.Equal(native.Outcome, hw.Outcome);
        Assert.Equal(1ul, hw.Total[Event.ExitMsr]);
    }

    [Fact]
    public void Nested_tables_fill_one_page_per_violation_with_the_identity_of_guest_ram_only()
    {
        var image = ImageBuilder.Build("forkwait", KernelFlavor.Native, 20);
        var strategy = new NestedPaging();
        var options = EngineFixtures.Options.Machine;
        var pc = new Pc(image, options with { VmmBytes = VmxMonitor.VmmBytes(strategy, options.RamBytes) });
        new VmxMonitor(pc, strategy).Launch();
        Assert.True(pc.Run().IsSuccess);
        var tables = strategy.Tables;
        Assert.Equal((ulong)tables.MappedPages, pc.Counters[Event.ExitEptViolation]);
        int mapped = 0;
        for (uint pde = 0; pde < 1024; pde++)
        {
            uint entry = pc.Memory.Read32(tables.Root + pde * 4);
            if ((entry & 1) == 0) continue;
            for (uint pte = 0; pte < 1024; pte++)
            {
                uint e = pc.Memory.Read32((entry & ~0xFFFu) + pte * 4);
                if ((e & 1) == 0) continue;
                uint gpa = pde << 22 | pte << 12;
                Assert.Equal(gpa, e & ~0xFFFu);
                Assert.True(gpa < pc.Memory.GuestRamBytes);
                mapped++;
            }
        }
        Assert.Equal(tables.MappedPages, mapped);
        Assert.InRange(mapped, 20, 8192); // the kernel's 32 MiB at most, touched on demand
    }

    [Fact]
    public void A_guest_access_outside_its_ram_stops_the_run_instead_of_being_mapped()
    {
        uint beyond = EngineFixtures.Options.Machine.RamBytes + 0x1000;
        var guest = TestKernel.Build(k => { k.Asm.mov(eax, __dword_ptr[beyond]); k.Exit(0); });
        Assert.True(Run("native", guest.Image).Outcome.IsSuccess); // the bare machine reads open bus
        var hw = Run("hw-ept", guest.Image);
        Assert.Equal(OutcomeKind.EngineStop, hw.Outcome.Kind);
        Assert.Contains($"reads guest-physical 0x{beyond:x8}, outside its 64 MiB of RAM", hw.Outcome.Message);
    }
}
