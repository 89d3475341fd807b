using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Adaptation;
using VirtBench.Machine;

namespace VirtBench.Engines.Tests.BinaryTranslation;

/// <summary>
/// The binary translator on the workloads: native's output, no guest kernel instruction ever fetched from guest memory
/// (every one retires from the translation cache) while user code runs directly, the in-TC sequences, callouts and
/// lookups once per guest instruction, a steady state that runs from chained translations, and adaptive translation
/// turning a hot page-table writer's tracing faults into callouts.
/// </summary>
public class TranslatedWorkloadTests
{
    private const string Engine = "binary-translation";

    [Theory]
    [MemberData(nameof(EngineFixtures.Workloads), MemberType = typeof(EngineFixtures))]
    public void The_kernel_runs_only_translated_and_user_code_directly_with_natives_output(string workload)
    {
        uint n = EngineFixtures.SmallIterations(workload);
        var native = EngineFixtures.Run("native", workload, n);
        var run = EngineFixtures.Run(Engine, workload, n);

        Assert.Equal(native.Outcome, run.Outcome);
        Assert.Equal(native.UartOutput, run.UartOutput);
        Assert.Equal(0ul, run.Total.Instructions(ExecutionMode.Ring0));
        Assert.Equal(0ul, run.Total.Instructions(ExecutionMode.Ring1));
        Assert.True(run.Total.Instructions(ExecutionMode.Translated) > 0);
        Assert.True(run.Total.Instructions(ExecutionMode.Ring3) > 0);
        Assert.Equal(native.Total.Instructions(ExecutionMode.Ring3), run.Total.Instructions(ExecutionMode.Ring3) + UserEmulations(run.Total));
        Assert.Empty(run.Holes);
    }

    [Fact]
    public void Each_kernel_cli_sti_pushfd_popfd_is_one_in_tc_emulation_and_none_retires_as_itself()
    {
        // kbench irqflags: per iteration pushfd, cli (irq_save), popfd (irq_restore), cli, sti; no timer tick in either region.
        var (small, large) = (Measured("irqflags", 100), Measured("irqflags", 300));
        Assert.Equal(1000ul, large[Event.BtInTcEmulation] - small[Event.BtInTcEmulation]);
        foreach (var m in new[] { Mnemonic.Cli, Mnemonic.Sti })
            Assert.Equal(0ul, large.Instructions(ExecutionMode.Translated, m));
        Assert.Equal(0ul, large[Event.InstructionEmulated] - small[Event.InstructionEmulated]);
        Assert.Equal(0ul, large[Event.BtCalloutOther] - small[Event.BtCalloutOther]);
        // pushfd and popfd retire once each per iteration inside their sequences (the real flags are read and restored).
        Assert.Equal(200ul, large.Instructions(ExecutionMode.Translated, Mnemonic.Pushfd) - small.Instructions(ExecutionMode.Translated, Mnemonic.Pushfd));
        Assert.Equal(200ul, large.Instructions(ExecutionMode.Translated, Mnemonic.Popfd) - small.Instructions(ExecutionMode.Translated, Mnemonic.Popfd));
    }

    [Fact]
    public void A_system_call_is_a_reflection_an_iret_callout_and_three_indirect_lookups_from_chained_code()
    {
        var (small, large) = (Measured("syscall", 100), Measured("syscall", 300));
        ulong Per(Event e) => (large[e] - small[e]) / 200;
        Assert.Equal(0ul, (large[Event.TrapSoftwareInterrupt] - small[Event.TrapSoftwareInterrupt]) % 200);
        Assert.Equal(1ul, Per(Event.TrapSoftwareInterrupt));
        Assert.Equal(1ul, Per(Event.ReflectedSystemCall));
        Assert.Equal(1ul, Per(Event.BtCalloutReturn));
        Assert.Equal(3ul, Per(Event.BtIndirectLookup));
        // The steady state runs from chained translations: nothing is translated, chained or missed any more.
        var steady = EngineFixtures.Run(Engine, "syscall", 1000).Measured!;
        var warm = EngineFixtures.Run(Engine, "syscall", 2000).Measured!;
        foreach (var e in new[] { Event.BtUnitTranslated, Event.BtChainPatch, Event.BtCalloutOther })
            Assert.Equal(steady[e], warm[e]);
    }

    [Fact]
    public void Kernel_call_and_ret_pairs_each_go_through_one_lookup()
    {
        var (small, large) = (Measured("callret", 100), Measured("callret", 300));
        Assert.Equal(200ul, large[Event.BtIndirectLookup] - small[Event.BtIndirectLookup]);
        Assert.Equal(0ul, large.Instructions(ExecutionMode.Translated, Mnemonic.Ret));
        Assert.Equal(0ul, large.Instructions(ExecutionMode.Translated, Mnemonic.Call));
    }

    [Fact]
    public void Port_io_and_invlpg_are_callouts_one_per_instruction()
    {
        var (small, large) = (Measured("in", 100), Measured("in", 300));
        Assert.Equal(200ul, large[Event.BtCalloutIo] - small[Event.BtCalloutIo]);
        Assert.Equal(200ul, large.Emulations(Mnemonic.In) - small.Emulations(Mnemonic.In));
        var (a, b) = (Measured("ptemod", 100), Measured("ptemod", 300));
        Assert.Equal(200ul, b[Event.BtCalloutTlb] - a[Event.BtCalloutTlb]);
        Assert.Equal(200ul, b.Emulations(Mnemonic.Invlpg) - a.Emulations(Mnemonic.Invlpg));
    }

    [Fact]
    public void Adaptive_translation_turns_the_hot_page_table_writers_tracing_faults_into_callouts()
    {
        // kbench ptemod: one store to the fixmap page table per iteration.
        var on = (Small: Measured("ptemod", 100), Large: Measured("ptemod", 300));
        var off = (Small: Measured("ptemod", 100, adaptive: false), Large: Measured("ptemod", 300, adaptive: false));

        Assert.Equal(100ul, off.Small[Event.TracingFault]);
        Assert.Equal(200ul, off.Large[Event.TracingFault] - off.Small[Event.TracingFault]);
        Assert.Equal(0ul, off.Large[Event.BtCalloutPageTableWrite] + off.Large[Event.BtAdaptiveRetranslation]);

        // With adaptation the store faults Threshold times, is retranslated once, and then calls out without a fault. (Its
        // first run precedes the window's first use, which shadows the page table: it does not fault; nor does it without
        // adaptation, where the 100th tracing fault is the store after the loop.)
        Assert.Equal(1ul, on.Small[Event.BtAdaptiveRetranslation]);
        Assert.Equal(0ul, on.Large[Event.TracingFault] - on.Small[Event.TracingFault]);
        Assert.Equal(200ul, on.Large[Event.BtCalloutPageTableWrite] - on.Small[Event.BtCalloutPageTableWrite]);
        Assert.Equal(100ul - 1 - AdaptiveTranslation.Threshold, on.Small[Event.BtCalloutPageTableWrite]);
        Assert.Equal(AdaptiveTranslation.Threshold + 1ul, on.Small[Event.TracingFault]);
        Assert.Equal(off.Small[Event.TrapPageFault] - on.Small[Event.BtCalloutPageTableWrite], on.Small[Event.TrapPageFault]);
        Assert.Equal(off.Small.Emulations(Mnemonic.Mov), on.Small.Emulations(Mnemonic.Mov)); // the same writes, emulated either way
    }

    [Fact]
    public void On_forkwait_adaptation_removes_nearly_every_tracing_fault_and_off_they_come_back()
    {
        var on = EngineFixtures.Run(Engine, "forkwait", 60);
        var off = EngineFixtures.Run(Engine, "forkwait", 60, adaptiveTranslation: false);

        Assert.Equal(off.UartOutput, on.UartOutput);
        Assert.Equal(0ul, on.Measured![Event.TracingFault] - Measured("forkwait", 20)[Event.TracingFault]);
        Assert.True(off.Measured![Event.TracingFault] >= 10 * on.Measured[Event.TracingFault],
            $"tracing faults: {off.Measured[Event.TracingFault]} off, {on.Measured[Event.TracingFault]} on");
        Assert.Equal(off.Measured[Event.TracingFault] - on.Measured[Event.TracingFault], on.Measured[Event.BtCalloutPageTableWrite]);
        Assert.True(on.Total[Event.BtAdaptiveRetranslation] > 0);
        Assert.Equal(0ul, off.Total[Event.BtAdaptiveRetranslation]);
    }

    /// <summary>Instructions of user code emulated by the VMM instead of retiring (user sysenter, in, ...).</summary>
    private static ulong UserEmulations(Counters c) => c.Emulations(Mnemonic.Sysenter);

    private static Counters Measured(string workload, uint iterations, bool adaptive = true) =>
        EngineFixtures.Run(Engine, workload, iterations, adaptive).Measured!;
}
