using Iced.Intel;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;
using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Vmx;

/// <summary>
/// Events in VMX non-root mode: external-interrupt exits with and without acknowledgement, the interrupt window
/// and sti/mov-SS blocking, event injection on VM entry through the guest's IDT, and exits that interrupt an
/// event's delivery (IDT-vectoring information) instead of turning into double faults.
/// </summary>
public class VmxEventTests
{
    private const uint InterruptFlag = 0x200;

    private static void ExternalInterruptExiting(VmxHarness h) =>
        h.SetControls(VmcsField.PinBasedControls, (uint)PinBasedControls.ExternalInterruptExiting);

    /// <summary>A guest that starts the timer with interrupts off and spins.</summary>
    private static AssembledGuest SpinWithInterruptsOff() => TestKernel.Build(k =>
    {
        k.StartTimer(100);
        var spin = k.Program.CreateLabel("spin");
        k.Program.Place(ref spin);
        k.Asm.jmp(spin);
    });

    [Fact]
    public void An_external_interrupt_exits_whatever_the_guests_IF_and_stays_pending_at_the_controller()
    {
        var h = VmxHarness.Launch(SpinWithInterruptsOff().Image, ExternalInterruptExiting);
        Assert.Equal(OutcomeKind.EngineStop, h.Pc.Run().Kind);
        var exit = Assert.Single(h.Exits);
        Assert.Equal(VmExitReason.ExternalInterrupt, exit.Reason);
        Assert.False(exit.Interruption.Valid);
        Assert.False(h.Pc.Cpu.InterruptsEnabled);
        Assert.True(h.Pc.Pic.InterruptRequested);
        Assert.Equal(1ul, h.Pc.Counters[Event.ExitExternalInterrupt]);
    }

    [Fact]
    public void With_acknowledge_on_exit_the_cpu_takes_the_vector_from_the_controller()
    {
        var h = VmxHarness.Launch(SpinWithInterruptsOff().Image, x =>
        {
            ExternalInterruptExiting(x);
            x.SetControls(VmcsField.ExitControls, (uint)ExitControls.AcknowledgeInterruptOnExit);
        });
        h.Pc.Run();
        var exit = Assert.Single(h.Exits);
        Assert.Equal(InterruptionInfo.Of(TestKernel.TimerVector, InterruptionType.ExternalInterrupt), exit.Interruption);
        Assert.False(h.Pc.Pic.InterruptRequested);
        Assert.Equal(0x8000_0020u, h.Vmcs.Inspect(VmcsField.ExitInterruptionInfo));
    }

    /// <summary>The labels of a <see cref="TimerAfterSti"/> guest.</summary>
    private sealed record StiGuest(AssembledGuest Guest, Label Shadowed, Label After, Label Log)
    {
        public uint Address(Label label) => Guest.Address(label);

        /// <summary>The EIP the timer interrupt interrupted.</summary>
        public uint InterruptedAt(Pc pc) => pc.Memory.Read32(Guest.Address(Log));
    }

    /// <summary>
    /// A guest that starts the timer and spins about 4000 instructions with IF = 0 (the timer requests in there),
    /// then runs sti and <paramref name="shadowed"/> (in the sti shadow) and stops. Its timer handler stores the
    /// interrupted EIP, then masks IRQ 0 (so this is the only timer interrupt it takes) and ends the interrupt.
    /// </summary>
    private static StiGuest TimerAfterSti(Action<Assembler> shadowed)
    {
        Label inShadow = default, after = default, log = default;
        var guest = TestKernel.Build(k =>
        {
            var (a, p) = (k.Asm, k.Program);
            var handler = p.CreateLabel("timer");
            log = p.CreateLabel("log");
            k.SetGate(TestKernel.TimerVector, handler);
            k.StartTimer(100);
            a.mov(ecx, 2000);
            var loop = p.CreateLabel("loop");
            p.Place(ref loop);
            a.dec(ecx);
            a.jnz(loop);
            a.sti();
            inShadow = p.CreateLabel("shadowed");
            p.Place(ref inShadow);
            shadowed(a);
            after = p.CreateLabel("after");
            p.Place(ref after);
            a.cli();
            k.Exit(0);

            p.Place(ref handler);
            a.mov(eax, __dword_ptr[esp]);
            a.mov(__dword_ptr[p.Address(log)], eax);
            a.mov(al, 0xFF);
            a.@out(0x21, al);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iretd();
            p.Place(ref log);
            a.dd(0u);
        });
        return new StiGuest(guest, inShadow, after, log);
    }

    [Fact]
    public void An_interrupt_that_arrives_while_IF_is_0_is_injected_at_the_window_after_the_sti_shadow()
    {
        var guest = TimerAfterSti(a => a.nop());
        int pending = -1;
        var seen = new List<(VmExitReason Reason, uint Eip, bool If)>();
        var h = VmxHarness.Launch(guest.Guest.Image, ExternalInterruptExiting);
        h.Handler = (x, e) =>
        {
            var v = x.Vmcs;
            seen.Add((e.Reason, v.Inspect(VmcsField.GuestRip), (v.Inspect(VmcsField.GuestRflags) & InterruptFlag) != 0));
            if (e.Reason == VmExitReason.ExternalInterrupt) pending = x.Pc.Pic.Acknowledge();
            bool canTake = (v.Read(VmcsField.GuestRflags) & InterruptFlag) != 0 && v.Read(VmcsField.GuestInterruptibility) == 0;
            if (canTake && pending >= 0)
            {
                v.Write(VmcsField.EntryInterruptionInfo, InterruptionInfo.Of(pending, InterruptionType.ExternalInterrupt).Encode());
                pending = -1;
            }
            x.SetControls(VmcsField.ProcessorBasedControls, (uint)ProcessorBasedControls.InterruptWindowExiting, on: pending >= 0);
            return true;
        };
        Assert.True(h.Pc.Run().IsSuccess);
        Assert.Equal((VmExitReason.ExternalInterrupt, false), (seen[0].Reason, seen[0].If));
        Assert.Equal((VmExitReason.InterruptWindow, guest.Address(guest.After), true), seen[1]);
        Assert.Equal(guest.Address(guest.After), guest.InterruptedAt(h.Pc));
        Assert.Equal(1ul, h.Pc.Counters[Event.InterruptInjection]);
        Assert.Equal(1ul, h.Pc.Counters[Event.InterruptDelivered]);
    }

    [Theory]
    [InlineData(false, GuestInterruptibility.BlockingBySti)]
    [InlineData(true, GuestInterruptibility.BlockingByMovSs)]
    public void An_exit_on_the_instruction_after_sti_or_mov_ss_saves_the_blocking(bool movSs, GuestInterruptibility expected)
    {
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            if (movSs) { a.mov(ax, ss); a.mov(ss, ax); }
            else a.sti();
            a.cpuid();
            a.cpuid();
            a.cli();
            k.Exit(0);
        });
        var blocking = new List<uint>();
        var h = VmxHarness.Launch(guest.Image);
        h.Handler = (x, e) =>
        {
            if (e.Reason != VmExitReason.Cpuid) return false;
            blocking.Add(x.Vmcs.Read(VmcsField.GuestInterruptibility));
            x.Vmcs.Write(VmcsField.GuestInterruptibility, 0); // the skipped instruction completes: its blocking ends
            x.Skip(e);
            return true;
        };
        Assert.True(h.Pc.Run().IsSuccess);
        Assert.Equal([(uint)expected, 0u], blocking);
    }

    [Fact]
    public void The_entry_restores_blocking_so_a_restarted_instruction_in_the_sti_shadow_still_runs_before_an_interrupt()
    {
        // The timer requests while IF = 0 (no external-interrupt exiting: the CPU delivers through the guest's IDT).
        // sti's shadow covers a load that takes an EPT violation; after the VMM maps the page the load restarts, still
        // in the shadow, so the interrupt arrives after it.
        var guest = TimerAfterSti(a => a.mov(eax, __dword_ptr[TestPages]));
        var h = VmxHarness.Launch(guest.Guest.Image, x => x.Unmap(TestPages));
        var state = new List<(uint Rip, uint Blocking)>();
        h.Handler = (x, e) =>
        {
            state.Add((x.Vmcs.Read(VmcsField.GuestRip), x.Vmcs.Read(VmcsField.GuestInterruptibility)));
            x.Map(e.GuestPhysicalAddress, writable: true);
            return true;
        };
        Assert.True(h.Pc.Run().IsSuccess);
        Assert.Equal((VmExitReason.EptViolation, TestPages), (Assert.Single(h.Exits).Reason, h.Exits[0].GuestLinearAddress));
        Assert.Equal((guest.Address(guest.Shadowed), (uint)GuestInterruptibility.BlockingBySti), state[0]);
        Assert.Equal(guest.Address(guest.After), guest.InterruptedAt(h.Pc));
    }

    [Fact]
    public void Injecting_an_external_interrupt_while_the_guest_has_IF_0_fails_the_entry()
    {
        var h = VmxHarness.Launch(TestImage.Build(a => { a.cli(); a.cpuid(); TestImage.Exit(a); }));
        h.Handler = (x, e) =>
        {
            x.Vmcs.Write(VmcsField.EntryInterruptionInfo, InterruptionInfo.Of(0x20, InterruptionType.ExternalInterrupt).Encode());
            return true;
        };
        var outcome = h.Pc.Run();
        Assert.Equal(OutcomeKind.EngineStop, outcome.Kind);
        Assert.Contains("VM entry failed", outcome.Message);
        Assert.Contains("IF = 0", outcome.Message);
    }

    [Fact]
    public void An_injected_exception_is_delivered_through_the_guests_idt_with_its_error_code()
    {
        Label cpuid = default;
        var guest = TestKernel.Build(k =>
        {
            cpuid = k.Program.CreateLabel("cpuid");
            k.Program.Place(ref cpuid);
            k.Asm.cpuid();
            k.Exit(0);
        });
        var h = VmxHarness.Launch(guest.Image);
        h.Handler = (x, e) =>
        {
            x.Vmcs.Write(VmcsField.EntryInterruptionInfo, InterruptionInfo.Of(Vectors.GP, InterruptionType.HardwareException, true).Encode());
            x.Vmcs.Write(VmcsField.EntryExceptionErrorCode, 0x28);
            return true; // not skipped: #GP is a fault, reported at the cpuid
        };
        var outcome = h.Pc.Run();
        Assert.Equal(2 * TestKernel.ExceptionExitValue + 1, (uint)outcome.ExitStatus);
        Assert.Contains($"#0d err=00000028 eip={guest.Address(cpuid):x8}", h.Pc.Uart.Output);
        Assert.Equal((1ul, 1ul), (h.Pc.Counters[Event.InterruptInjection], h.Pc.Counters[Event.ExceptionDelivered]));
    }

    /// <summary>A guest whose int 0x80 handler counts calls; <paramref name="before"/> runs just before the int.</summary>
    private static (AssembledGuest Guest, Label Count) SystemCallGuest(KernelOptions? options = null, Action<TestKernel>? before = null)
    {
        Label count = default;
        var guest = TestKernel.Build(k =>
        {
            var (a, p) = (k.Asm, k.Program);
            var handler = p.CreateLabel("int80");
            count = p.CreateLabel("count");
            k.SetGate(0x80, handler);
            before?.Invoke(k);
            a.@int(0x80);
            k.Exit(0);
            p.Place(ref handler);
            a.inc(__dword_ptr[p.Address(count)]);
            a.iretd();
            p.Place(ref count);
            a.dd(0u);
        }, options);
        return (guest, count);
    }

    [Fact]
    public void An_ept_violation_during_delivery_reports_the_event_which_the_vmm_injects_again()
    {
        var (guest, count) = SystemCallGuest(before: k => k.Asm.cpuid()); // the harness unmaps the stack page at the cpuid
        var h = VmxHarness.Launch(guest.Image);
        h.Handler = (x, e) =>
        {
            if (e.Reason == VmExitReason.Cpuid)
            {
                x.Unmap(KernelStackTop - 4096);
                x.Skip(e);
                return true;
            }
            x.Map(x.Vmcs.Read(VmcsField.GuestPhysicalAddress), writable: true);
            var vectoring = InterruptionInfo.Decode(x.Vmcs.Read(VmcsField.IdtVectoringInfo));
            x.Vmcs.Write(VmcsField.EntryInterruptionInfo, vectoring.Encode());
            x.Vmcs.Write(VmcsField.EntryInstructionLength, x.Vmcs.Read(VmcsField.ExitInstructionLength));
            return true;
        };
        Assert.True(h.Pc.Run().IsSuccess);
        var violation = h.Exits[1];
        Assert.Equal(VmExitReason.EptViolation, violation.Reason);
        Assert.Equal(InterruptionInfo.Of(0x80, InterruptionType.SoftwareInterrupt), violation.IdtVectoring);
        Assert.Equal(2, violation.InstructionLength);
        Assert.Equal(KernelStackTop - 4, violation.GuestPhysicalAddress);
        var q = EptViolationQualification.Decode(violation.Qualification);
        Assert.True(q is { Write: true, FinalTranslation: true, Readable: false });
        Assert.Equal(1u, h.Pc.Memory.Read32(guest.Address(count)));
        Assert.Equal(0ul, h.Pc.Counters[Event.ExceptionDelivered]); // no double fault
    }

    [Fact]
    public void A_page_fault_in_the_bitmap_during_delivery_exits_with_the_event_and_raises_no_double_fault()
    {
        var (guest, _) = SystemCallGuest(new KernelOptions { Paging = true }, k => k.SetPte(KernelStackTop - 4096, 0));
        var h = VmxHarness.Launch(guest.Image, x => x.SetControls(VmcsField.ExceptionBitmap, 1u << Vectors.PF));
        h.Pc.Cpu.Cr2 = 0xC2C2_C2C2;
        h.Pc.Run();
        var exit = Assert.Single(h.Exits);
        Assert.Equal(InterruptionInfo.Of(Vectors.PF, InterruptionType.HardwareException, true), exit.Interruption);
        Assert.Equal(2u, exit.InterruptionErrorCode);                      // a supervisor write to a not-present page
        Assert.Equal(KernelStackTop - 4, exit.Qualification);              // the address, in the qualification...
        Assert.Equal(0xC2C2_C2C2u, h.Pc.Cpu.Cr2);                          // ...not in CR2
        Assert.Equal(InterruptionInfo.Of(0x80, InterruptionType.SoftwareInterrupt), exit.IdtVectoring);
        Assert.Equal(1ul, h.Pc.Counters[Event.ExitPageFault]);
    }
}
