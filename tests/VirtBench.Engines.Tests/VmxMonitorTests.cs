using VirtBench.Machine;
using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests;

/// <summary>
/// The VT-x VMM both hardware-assisted engines share (hw-shadow and hw-ept differ only in memory virtualization):
/// what exits and what does not, exactly. The workloads show the signature (no exit per system call, one per port
/// access or cpuid); small test-kernel guests pin down the VMM's behaviour (VMCS accesses per exit, blocking in hlt,
/// injection at the interrupt window, MSRs).
/// </summary>
public class VmxMonitorTests
{
    public static TheoryData<string> Engines() => new() { "hw-shadow", "hw-ept" };

    /// <summary>
    /// Emits reads of the timer's IDT gate and a push on the kernel stack, so that the VMM maps those pages (nested
    /// tables, or shadows) before the first interrupt: otherwise its delivery exits and is injected a second time.
    /// </summary>
    private static void TouchDeliveryPages(TestKernel k)
    {
        k.Asm.mov(eax, __dword_ptr[k.IdtAddress + TestKernel.TimerVector * 8]);
        k.Asm.push(eax);
        k.Asm.pop(eax);
    }

    // ---- The workloads ----

    [Theory]
    [InlineData("hw-shadow", 2000u)]
    [InlineData("hw-shadow", 4000u)]
    [InlineData("hw-ept", 2000u)]
    [InlineData("hw-ept", 4000u)]
    public void A_system_call_never_exits(string engine, uint calls)
    {
        var run = EngineFixtures.Run(engine, "syscall", calls);
        var m = run.Measured!;
        ulong ticks = m[Event.ExitExternalInterrupt];
        Assert.Equal(run.Operations + 1, m[Event.SoftwareInterruptDelivered]); // the calls, and the one that closes the region
        // Every exit is a timer tick's (its exit, perhaps a window, its end-of-interrupt write), a first touch of
        // guest RAM (an EPT violation, or a hidden page fault), or the port write that closes the region.
        Assert.Equal(ticks + 1, m[Event.ExitIo]);
        Assert.InRange(m[Event.ExitInterruptWindow], 0ul, ticks);
        Assert.Equal(m[Event.HiddenPageFault], m[Event.ExitPageFault]);
        Assert.Equal(ticks + m[Event.ExitInterruptWindow] + m[Event.ExitIo] + m[Event.ExitEptViolation] + m[Event.ExitPageFault], EngineFixtures.Exits(m));
        Assert.Equal(ticks, m[Event.InterruptInjection]);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void The_exits_of_the_syscall_region_do_not_grow_with_the_calls(string engine)
    {
        ulong NonTimerExits(uint calls)
        {
            var m = EngineFixtures.Run(engine, "syscall", calls).Measured!;
            return EngineFixtures.Exits(m) - 2 * m[Event.ExitExternalInterrupt] - m[Event.ExitInterruptWindow]; // each tick: its exit and its EOI
        }
        ulong small = NonTimerExits(2000), large = NonTimerExits(4000);
        Assert.Equal(small, large);
        Assert.Equal(0ul, (large - small) / 2000); // exits per additional system call
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Each_cpuid_exits_once_and_each_port_read_once(string engine)
    {
        var cpuid = EngineFixtures.Run(engine, "cpuid", 500);
        Assert.Equal(cpuid.Operations, cpuid.Measured![Event.ExitCpuid]);

        var input = EngineFixtures.Run(engine, "in", 500);
        var m = input.Measured!;
        Assert.Equal(input.Operations + m[Event.ExitExternalInterrupt] + 1, m[Event.ExitIo]); // the reads, each tick's EOI, the closing write
        Assert.Equal(m[Event.ExitIo], m[Event.DeviceEmulation]);
    }

    // ---- Small guests ----

    [Theory]
    [MemberData(nameof(Engines))]
    public void A_cpuid_exit_reads_five_vmcs_fields_and_writes_one(string engine)
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
        var m = EngineFixtures.Run(engine, guest.Image).Measured!;
        // Each cpuid: exit reason, IDT-vectoring information, instruction length, RIP and interruptibility read;
        // RIP written. The region also holds the end of the exit that opened it (3 reads, RIP written, the entry)
        // and the start of the exit that closes it (reason, IDT-vectoring information, qualification).
        Assert.Equal((ulong)n, m[Event.ExitCpuid]);
        Assert.Equal(1ul, m[Event.ExitIo]);
        Assert.Equal(5ul * n + 6, m[Event.VmcsRead]);
        Assert.Equal((ulong)n + 1, m[Event.VmcsWrite]);
        Assert.Equal((ulong)n + 1, m[Event.VmEntry]);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void A_halted_vcpu_blocks_in_the_vmm_and_takes_each_timer_interrupt_on_its_next_entry(string engine)
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
        var native = EngineFixtures.Run("native", guest.Image);
        var hw = EngineFixtures.Run(engine, guest.Image);
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

    [Theory]
    [MemberData(nameof(Engines))]
    public void An_interrupt_for_a_guest_with_IF_0_waits_for_the_window_and_arrives_where_it_would_natively(string engine)
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
        var native = EngineFixtures.Run("native", guest.Image);
        var hw = EngineFixtures.Run(engine, guest.Image);
        Assert.True(hw.Outcome.IsSuccess, hw.Outcome.ToString());
        Assert.Contains($"interrupted at {guest.Address(after):x8}", native.UartOutput);
        Assert.Equal(native.UartOutput, hw.UartOutput);
        var t = hw.Total;
        Assert.Equal((1ul, 1ul, 1ul), (t[Event.ExitExternalInterrupt], t[Event.ExitInterruptWindow], t[Event.InterruptInjection]));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Sysenter_msrs_pass_through_and_an_unknown_msr_exits_and_faults_as_on_the_machine(string engine)
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
        var native = EngineFixtures.Run("native", guest.Image);
        var hw = EngineFixtures.Run(engine, guest.Image);
        Assert.Contains("#0d err=00000000", native.UartOutput);
        Assert.Equal(native.UartOutput, hw.UartOutput);
        Assert.Equal(native.Outcome, hw.Outcome);
        Assert.Equal(1ul, hw.Total[Event.ExitMsr]);
    }
}
