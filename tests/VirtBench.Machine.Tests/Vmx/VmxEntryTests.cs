using VirtBench.Machine.Monitor;
using VirtBench.Machine.Tests.Guest;

namespace VirtBench.Machine.Tests.Vmx;

/// <summary>VM entries check the guest state; a VMM can block its vCPU in simulated time; a VMM that makes no progress is stopped.</summary>
public class VmxEntryTests
{
    private const uint Cr0Ne = 0x20;

    private static RunOutcome Launch(Action<VmxHarness> configure)
    {
        var h = VmxHarness.Launch(TestImage.Build(a => TestImage.Exit(a)), configure);
        return h.Pc.Run();
    }

    [Fact]
    public void A_guest_with_CR0_NE_clear_fails_the_entry()
    {
        var outcome = Launch(x => x.Vmcs.Write(VmcsField.GuestCr0, x.Vmcs.Inspect(VmcsField.GuestCr0) & ~Cr0Ne));
        Assert.Equal(OutcomeKind.EngineStop, outcome.Kind);
        Assert.Contains("VM entry failed", outcome.Message);
        Assert.Contains("NE clear", outcome.Message);
    }

    [Fact]
    public void A_guest_with_paging_off_needs_the_unrestricted_guest_control_which_needs_ept()
    {
        var restricted = Launch(x => x.SetControls(VmcsField.SecondaryControls, (uint)SecondaryControls.UnrestrictedGuest, on: false));
        Assert.Contains("PE or PG clear", restricted.Message);
        var withoutEpt = Launch(x => x.SetControls(VmcsField.SecondaryControls, (uint)SecondaryControls.EnableEpt, on: false));
        Assert.Contains("unrestricted guest requires EPT", withoutEpt.Message);
    }

    [Fact]
    public void A_vmm_blocks_its_vcpu_in_simulated_time_until_the_timer_interrupt_is_requested()
    {
        var guest = TestKernel.Build(k =>
        {
            k.StartTimer(1000);
            k.Asm.sti();
            k.Asm.hlt();
            k.Exit(0);
        });
        var h = VmxHarness.Launch(guest.Image, x => x.SetControls(VmcsField.ProcessorBasedControls, (uint)ProcessorBasedControls.HltExiting));
        ulong before = 0, after = 0, entries = 0;
        bool woke = false;
        h.Handler = (x, e) =>
        {
            x.Skip(e);
            (before, entries) = (x.Pc.Cpu.Ticks, x.Pc.Counters[Event.VmEntry]);
            woke = x.Pc.Cpu.WaitForInterrupt();
            after = x.Pc.Cpu.Ticks;
            return false;
        };
        h.Pc.Run();
        Assert.True(woke);
        Assert.True(h.Pc.Pic.InterruptRequested);
        Assert.InRange(after - before, 7000ul, 8000ul);              // the rest of 1000 PIT ticks of 8 instructions
        Assert.Equal(after - before, h.Pc.Counters[Event.IdleInstructions]);
        Assert.Equal(entries, h.Pc.Counters[Event.VmEntry]);        // blocking is not a VM entry
    }

    [Fact]
    public void With_no_timer_armed_a_blocked_vcpu_stops_the_run_as_a_halted_machine()
    {
        var h = VmxHarness.Launch(TestImage.Build(a => { a.sti(); a.hlt(); }),
            x => x.SetControls(VmcsField.ProcessorBasedControls, (uint)ProcessorBasedControls.HltExiting));
        bool? woke = null;
        h.Handler = (x, e) => { x.Skip(e); woke = x.Pc.Cpu.WaitForInterrupt(); return true; };
        var outcome = h.Pc.Run();
        Assert.False(woke);
        Assert.Equal(OutcomeKind.Halted, outcome.Kind);
        Assert.Contains("no timer armed", outcome.Message);
    }

    [Fact]
    public void A_vmm_that_resumes_a_guest_exiting_again_at_once_is_stopped_rather_than_hanging()
    {
        var h = VmxHarness.Launch(TestImage.Build(a => { a.cpuid(); TestImage.Exit(a); }));
        h.Handler = (x, e) => true; // never completes the cpuid
        var outcome = h.Pc.Run();
        Assert.Equal(OutcomeKind.EngineStop, outcome.Kind);
        Assert.Contains("without the guest making progress", outcome.Message);
        Assert.Equal((ulong)Cpu.Cpu.MaxExitsWithoutProgress, h.Pc.Counters[Event.ExitCpuid]);
    }
}
