using Iced.Intel;
using VirtBench.Machine;

namespace VirtBench.Engines.Tests.Paravirt;

/// <summary>The paravirt engine on the workloads: native's output, a kernel at ring 1 that executes nothing privileged, and the signature counts of the technique.</summary>
public sealed class ParavirtEngineTests
{
    /// <summary>Events that are one entry into the hypervisor (hypercalls, bounces, traps); batch entries and validations are work inside one.</summary>
    private static bool IsHypervisorEntry(Event e)
    {
        string name = e.ToString();
        return name.StartsWith("Trap", StringComparison.Ordinal) || name.StartsWith("Bounced", StringComparison.Ordinal)
            || name.StartsWith("Hypercall", StringComparison.Ordinal) && e != Event.HypercallMmuUpdateEntry;
    }

    private static ulong Entries(Counters counters) =>
        counters.EventCounts().Where(c => IsHypervisorEntry(c.Event)).Aggregate(0ul, (sum, c) => sum + c.Count);

    private static ulong Hypercalls(Counters counters) =>
        counters.EventCounts().Where(c => c.Event.ToString().StartsWith("Hypercall", StringComparison.Ordinal) && c.Event != Event.HypercallMmuUpdateEntry)
            .Aggregate(0ul, (sum, c) => sum + c.Count);

    private static readonly Mnemonic[] Privileged =
    [
        Mnemonic.Cli, Mnemonic.Sti, Mnemonic.Hlt, Mnemonic.In, Mnemonic.Out, Mnemonic.Pushfd, Mnemonic.Popfd, Mnemonic.Lgdt,
        Mnemonic.Lidt, Mnemonic.Ltr, Mnemonic.Invlpg, Mnemonic.Wrmsr, Mnemonic.Sysexit,
    ];

    [Theory]
    [MemberData(nameof(EngineFixtures.Workloads), MemberType = typeof(EngineFixtures))]
    public void Every_workload_prints_native_s_output_with_its_kernel_at_ring_1_executing_nothing_privileged(string workload)
    {
        uint n = EngineFixtures.SmallIterations(workload);
        var native = EngineFixtures.Run("native", workload, n);
        var paravirt = EngineFixtures.Run("paravirt", workload, n);

        Assert.Equal(native.Outcome, paravirt.Outcome);
        Assert.Equal(native.UartOutput, paravirt.UartOutput);
        var total = paravirt.Total;
        Assert.Equal(0ul, total.Instructions(ExecutionMode.Ring0));
        Assert.True(total.Instructions(ExecutionMode.Ring1) > 0);
        Assert.Equal(0ul, total[Event.TrapPrivilegedInstruction]);
        Assert.All(Privileged, m => Assert.Equal(0ul, total.Instructions(m)));
        Assert.Equal(total[Event.SoftwareInterruptDelivered], total[Event.FastSystemCall]);
        Assert.True(total[Event.HypercallMmuUpdate] > 0 && total[Event.HypercallMmuExtOp] > 0 && total[Event.HypercallSetTrapTable] == 1);
    }

    [Theory]
    [InlineData(32u)]
    [InlineData(200u)]
    public void The_domain_builder_boots_the_kernel_with_other_amounts_of_ram(uint mebibytes)
    {
        var workload = Workloads.WorkloadCatalog.Get("spawn");
        var image = Workloads.ImageBuilder.Build(workload, KernelFlavor.Paravirtual, 10);
        var run = EngineCatalog.Get("paravirt").Run(image, new RunOptions { Machine = new MachineOptions { RamBytes = mebibytes << 20 } });
        Assert.True(run.Outcome.IsSuccess, run.Outcome.ToString());
        Assert.Equal($"VirtBench guest kernel\n{workload.ExpectedResultLine(10)}\n", run.UartOutput);
    }

    [Fact]
    public void A_system_call_reaches_the_guest_kernel_without_entering_the_hypervisor()
    {
        var run = EngineFixtures.Run("paravirt", "syscall", 20_000);
        var m = run.Measured!;
        Assert.Equal(run.Operations + 1, m[Event.FastSystemCall]);     // the loop's calls and the one that closes the region
        Assert.Equal(0ul, Entries(m) / run.Operations);

        // Every entry in the region belongs to a timer tick: the interrupt, its EOI on the device ring (plus the
        // notification that opened the region), the iret of an upcall that interrupted the kernel, a forced callback.
        ulong ticks = m[Event.TrapExternalInterrupt];
        Assert.True(ticks > 0);
        Event[] timer = [Event.TrapExternalInterrupt, Event.HypercallEventChannel, Event.HypercallIret, Event.HypercallOther];
        Assert.All(m.EventCounts().Where(c => IsHypervisorEntry(c.Event)), c => Assert.Contains(c.Event, timer));
        Assert.InRange(m[Event.HypercallEventChannel], 1ul, ticks + 1);
        Assert.InRange(m[Event.HypercallIret] + m[Event.HypercallOther], 0ul, ticks);
    }

    [Fact]
    public void Forkwait_sends_its_page_table_updates_in_batches_with_far_fewer_hypercalls_than_entries()
    {
        var run = EngineFixtures.Run("paravirt", "forkwait", 100);
        var m = run.Measured!;
        ulong updates = m[Event.HypercallMmuUpdate], entries = m[Event.HypercallMmuUpdateEntry];
        ulong validated = m[Event.PageTableEntryValidated], hypercalls = Hypercalls(m);

        // mmu_update carries the batches of fork (write-protect the parent, link the child's tables) and exit (unlink
        // them); the entries the kernel wrote into the child's tables before they were live are validated when the
        // child's directory is pinned, in the same mmuext_op as the fork's TLB flush.
        Assert.True(entries >= 2 * updates, $"{entries} entries in {updates} mmu_updates");
        // With the parent's 16-page working set, batching carries about five entries per hypercall.
        Assert.True(entries + validated >= 4 * hypercalls, $"{entries + validated} page-table entries written or validated, {hypercalls} hypercalls");
        Assert.Equal(run.Operations, m[Event.BouncedException]);     // one copy-on-write fault per fork
    }

    [Fact]
    public void Page_faults_are_bounced_through_the_hypervisor_once_each()
    {
        var run = EngineFixtures.Run("paravirt", "pgfault", 640);
        var m = run.Measured!;
        Assert.Equal(run.Operations, m[Event.BouncedException]);
        Assert.Equal(0ul, m[Event.TrapPageFault]);                    // the bounce is the whole round trip
        Assert.Equal(0ul, m[Event.ExceptionDelivered]);               // nothing reaches the guest through the real IDT
    }

    [Fact]
    public void Sysenter_is_bounced_to_the_guest_s_callback_and_int_0x80_is_not()
    {
        var run = EngineFixtures.Run("paravirt", "sysenter", 500);
        var m = run.Measured!;
        Assert.Equal(run.Operations, m[Event.BouncedSystemCall]);
        Assert.Equal(1ul, m[Event.FastSystemCall]);                  // the int 0x80 that closes the region
    }

    [Fact]
    public void Device_io_goes_through_the_ring_one_request_per_notification()
    {
        var run = EngineFixtures.Run("paravirt", "io", 20);
        var total = run.Total;
        Assert.True(total[Event.RingRequest] > 20 * 16);
        Assert.Equal(total[Event.RingRequest], total[Event.RingNotification]);
        Assert.Equal(total[Event.RingNotification], total[Event.HypercallEventChannel]);
        Assert.Equal(0ul, total[Event.DeviceEmulation]);
        Assert.Equal(0ul, total.Instructions(Mnemonic.In) + total.Instructions(Mnemonic.Out));
    }
}
