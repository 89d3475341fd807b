using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Workloads;
using VirtBench.Workloads.Kernel.PvOps;
using VirtBench.Workloads.User;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests;

/// <summary>
/// The trap-and-emulate VMM: on the Popek-Goldberg CPU it runs exactly the guest's native instruction stream (each
/// privileged or sensitive instruction trapped and emulated once, everything else retired), its shadow page tables
/// trace page-table writes and keep address spaces across CR3 switches; on real x86 it records the holes of the
/// kernel's pushf/popf idiom and still never crashes.
/// </summary>
public class TrapAndEmulateTests
{
    private static readonly Mnemonic[] KernelPrivileged =
    [
        Mnemonic.Cli, Mnemonic.Sti, Mnemonic.Hlt, Mnemonic.In, Mnemonic.Out, Mnemonic.Iretd, Mnemonic.Sysexit, Mnemonic.Wrmsr,
        Mnemonic.Invlpg, Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Ltr, Mnemonic.Pushfd, Mnemonic.Popfd,
    ];

    [Theory]
    [MemberData(nameof(EngineFixtures.Workloads), MemberType = typeof(EngineFixtures))]
    public void On_the_Popek_Goldberg_CPU_the_guest_runs_natives_instructions_each_sensitive_one_trapped_and_emulated_once(string workload)
    {
        uint n = EngineFixtures.SmallIterations(workload);
        var native = EngineFixtures.Run("native", workload, n);
        var vmm = EngineFixtures.Run("trap-emulate-pg", workload, n);

        Assert.Equal(native.Outcome, vmm.Outcome);
        Assert.Equal(native.UartOutput, vmm.UartOutput);
        Assert.Empty(vmm.Holes);
        Assert.Equal(native.Total[Event.IdleInstructions], vmm.Total[Event.IdleInstructions]);
        foreach (var (part, bare, virtualized) in new[] { ("whole run", native.Total, vmm.Total), ("measured region", native.Measured!, vmm.Measured!) })
        {
            var differences = EngineFixtures.StreamDifferences(bare, virtualized);
            Assert.True(differences.Count == 0, $"{part}: {string.Join("; ", differences)}");
            foreach (var m in KernelPrivileged)
            {
                Assert.Equal(0ul, virtualized.Instructions(ExecutionMode.Ring1, m));
                Assert.Equal(0ul, virtualized.Instructions(ExecutionMode.Ring0, m));
            }
            Assert.Equal(virtualized[Event.InstructionEmulated],
                virtualized[Event.TrapPrivilegedInstruction] + virtualized[Event.TrapSensitiveInstruction] + virtualized[Event.TracingFault]);
            Assert.Equal(0ul, virtualized.Instructions(ExecutionMode.Ring0));
        }
    }

    [Fact]
    public void Each_kernel_cli_sti_pushf_popf_is_one_trap_and_one_emulation()
    {
        // kbench irqflags: per iteration pushfd, cli (irq_save), popfd (irq_restore), cli, sti.
        var (small, large) = (Measured("trap-emulate-pg", "irqflags", 100), Measured("trap-emulate-pg", "irqflags", 300));
        Assert.Equal(0ul, small[Event.TrapExternalInterrupt] + large[Event.TrapExternalInterrupt]); // no timer tick in either region
        foreach (var (m, perIteration) in new[] { (Mnemonic.Cli, 2ul), (Mnemonic.Sti, 1ul), (Mnemonic.Pushfd, 1ul), (Mnemonic.Popfd, 1ul) })
        {
            Assert.Equal(200 * perIteration, large.Emulations(m) - small.Emulations(m));
            Assert.Equal(0ul, large.Instructions(m));
        }
        Assert.Equal(600ul, large[Event.TrapPrivilegedInstruction] - small[Event.TrapPrivilegedInstruction]);
        Assert.Equal(400ul, large[Event.TrapSensitiveInstruction] - small[Event.TrapSensitiveInstruction]);

        // Real x86: the same privileged traps, but pushf and popf run unseen.
        var (x86Small, x86Large) = (Measured("trap-emulate", "irqflags", 100), Measured("trap-emulate", "irqflags", 300));
        Assert.Equal(600ul, x86Large[Event.TrapPrivilegedInstruction] - x86Small[Event.TrapPrivilegedInstruction]);
        Assert.Equal(0ul, x86Large[Event.TrapSensitiveInstruction]);
        Assert.Equal(200ul, x86Large.Instructions(ExecutionMode.Ring1, Mnemonic.Popfd) - x86Small.Instructions(ExecutionMode.Ring1, Mnemonic.Popfd));
        Assert.Equal(200ul, x86Large[Event.VirtualizationHole] - x86Small[Event.VirtualizationHole]);
    }

    [Fact]
    public void A_kernel_page_table_write_is_a_tracing_fault_emulated_and_propagated()
    {
        // kbench ptemod: per iteration one store to the fixmap page table, an invlpg, and a read through the window.
        var run = EngineFixtures.Run("trap-emulate-pg", "ptemod", 100);
        var m = run.Measured!;
        Assert.Equal(100ul, run.Operations);
        Assert.Equal(100ul, m[Event.TracingFault]);
        Assert.Equal(100ul, m.Emulations(Mnemonic.Mov));
        Assert.Equal(m[Event.TracingFault] + m[Event.HiddenPageFault], m[Event.TrapPageFault]);
        // The new entry has A clear, so it is not prefetched: its first use is a hidden fault that sets A.
        Assert.InRange(m[Event.HiddenPageFault], 100ul, 110ul);
        Assert.InRange(m[Event.ShadowUpdate], 200ul, 220ul);
        Assert.InRange(m[Event.AccessedDirtyReflected], 100ul, 110ul);
    }

    [Fact]
    public void Switching_back_to_an_address_space_uses_its_cached_shadow()
    {
        // ctxswitch: two processes ping-pong through a pipe, a CR3 load at every switch.
        var native = EngineFixtures.Run("native", "ctxswitch", 100);
        var vmm = EngineFixtures.Run("trap-emulate-pg", "ctxswitch", 100);
        var m = vmm.Measured!;
        ulong cr3Loads = native.Measured![Event.TlbFlush];
        Assert.True(cr3Loads >= 200, $"only {cr3Loads} CR3 loads");
        Assert.Equal(cr3Loads, m[Event.ShadowSwitch] + m[Event.ShadowCreate]);
        Assert.True(m[Event.ShadowCreate] <= 1, $"{m[Event.ShadowCreate]} shadows built in the ping-pong");
        Assert.Equal(0ul, m[Event.ShadowDiscard]);
    }

    [Fact]
    public void Forked_and_freed_page_tables_are_traced_then_unshadowed()
    {
        var run = EngineFixtures.Run("trap-emulate-pg", "forkwait", 20);
        var t = run.Total;
        Assert.True(t[Event.TracingFault] > 0);
        Assert.True(t[Event.ShadowCreate] >= 20, "every child's address space gets a shadow");
        Assert.True(t[Event.ShadowDiscard] >= 20, "freed page tables and directories are unshadowed when reused");
    }

    [Fact]
    public void On_real_x86_the_irq_save_and_irq_restore_idiom_is_recorded_as_holes()
    {
        uint iterations = WorkloadCatalog.Get("irqflags").DefaultIterations; // long enough for timer ticks and schedule()
        var build = ImageBuilder.BuildKernel("irqflags", KernelFlavor.Native, WorkloadCatalog.Get("irqflags").Programs(iterations));
        var run = EngineCatalog.Get("trap-emulate").Run(build.Image, EngineFixtures.Options);
        var native = EngineCatalog.Get("native").Run(build.Image, EngineFixtures.Options);

        Assert.True(run.Outcome.IsSuccess, run.Outcome.ToString());
        Assert.Equal(native.UartOutput, run.UartOutput); // the kernel survives the wrong IF: the suite reports "ok" with the holes
        var sites = build.Kernel.Ranges.Where(r => r.Tag is PvOps.TagPrefix + "irq_save" or PvOps.TagPrefix + "irq_restore" or PvOps.TagPrefix + "iret").ToList();
        Assert.NotEmpty(run.Holes);
        Assert.All(run.Holes, h => Assert.Contains(sites, s => s.Contains(h.GuestAddress)));
        var loop = Assert.Single(run.Holes, h => h.Location.StartsWith("kbench.irqflags", StringComparison.Ordinal));
        Assert.Equal("popfd", loop.Instruction);
        Assert.Equal((ulong)iterations, loop.Count);
        Assert.Contains("IF=0", loop.GuestSaw);
        Assert.Contains("IF=1", loop.ShouldHaveSeen);
        Assert.Contains(run.Holes, h => h.Instruction == "pushfd" && h.Location.StartsWith("schedule", StringComparison.Ordinal));
        Assert.Equal(run.Holes.Aggregate(0ul, (sum, h) => sum + h.Count), run.Total[Event.VirtualizationHole]);
    }

    [Theory]
    [MemberData(nameof(EngineFixtures.Workloads), MemberType = typeof(EngineFixtures))]
    public void On_real_x86_every_workload_ends_cleanly_and_reports_its_holes(string workload)
    {
        uint n = EngineFixtures.SmallIterations(workload);
        var native = EngineFixtures.Run("native", workload, n);
        var run = EngineFixtures.Run("trap-emulate", workload, n);

        Assert.True(run.Outcome.IsSuccess || run.Outcome.Kind == OutcomeKind.BudgetExhausted, run.Outcome.ToString());
        if (run.UartOutput != native.UartOutput) Assert.NotEmpty(run.Holes);
        // Blocking in a pipe or wait goes through sleep() and schedule(), which save and restore IF with pushf/popf.
        if (workload is "forkwait" or "ctxswitch" or "pipe" or "spawn" or "server")
            Assert.Contains(run.Holes, h => h.Instruction == "popfd" && h.Location.StartsWith("sleep", StringComparison.Ordinal));
        Assert.Equal(run.Holes.Aggregate(0ul, (sum, h) => sum + h.Count), run.Total[Event.VirtualizationHole]);
        Assert.Equal(0ul, run.Total[Event.TrapSensitiveInstruction]);
    }

    [Fact]
    public void A_user_sgdt_reveals_the_VMM_on_real_x86_and_the_divergence_shows()
    {
        var image = ImageBuilder.BuildKernel("red-pill", KernelFlavor.Native, [new GuestProgram("red-pill", u =>
        {
            uint table = u.Buffer("table", 8);
            u.K.Bind("red-pill.sgdt");
            u.A.sgdt(__[table]);
            u.A.mov(eax, __dword_ptr[table + 2]);
            u.Print("gdt base ", UserCode.Hex(eax), "\n");
            u.Exit(0);
        })]).Image;
        var native = EngineCatalog.Get("native").Run(image, EngineFixtures.Options);
        var pg = EngineCatalog.Get("trap-emulate-pg").Run(image, EngineFixtures.Options);
        var x86 = EngineCatalog.Get("trap-emulate").Run(image, EngineFixtures.Options);

        Assert.Equal(native.UartOutput, pg.UartOutput);       // emulated: the guest's own GDTR
        Assert.Equal(1ul, pg.Total.Emulations(Mnemonic.Sgdt));
        Assert.True(x86.Outcome.IsSuccess, x86.Outcome.ToString());
        Assert.NotEqual(native.UartOutput, x86.UartOutput);    // real x86: the VMM's GDT, in the hypervisor region
        Assert.Contains("gdt base 0xfc000000", x86.UartOutput);
        var hole = Assert.Single(x86.Holes, h => h.Instruction.StartsWith("sgdt", StringComparison.Ordinal));
        Assert.Equal(1ul, hole.Count);
        Assert.Contains("base 0xfc000000", hole.GuestSaw);
    }

    [Theory]
    [InlineData("trap-emulate")]
    [InlineData("trap-emulate-pg")]
    public void Writes_to_the_guests_GDT_reach_the_real_one(string engine)
    {
        // The GDT page is traced: a descriptor written with mov, then rewritten with rep movsb, takes effect.
        var image = BareKernel.Build("gdt-writes", (a, hex) =>
        {
            a.mov(__dword_ptr[0x2018], 0x5000_FFFF);     // 0x18: data, base 0x5000, 64 KiB
            a.mov(__dword_ptr[0x201C], 0x0040_9200);
            a.mov(__word_ptr[0x1F00], 4 * 8 - 1);
            a.lgdt(__[0x1F00]);
            a.mov(__dword_ptr[0x5000], 0x1111_1111);
            a.mov(__dword_ptr[0x6000], 0x2222_2222);
            a.mov(__dword_ptr[0x3800], 0x6000_FFFF);     // the same descriptor with base 0x6000
            foreach (bool rewrite in new[] { false, true })
            {
                if (rewrite)
                {
                    a.mov(esi, 0x3800);
                    a.mov(edi, 0x2018);
                    a.mov(ecx, 4);
                    a.rep.movsb();
                }
                a.mov(eax, 0x18);
                a.mov(ds, ax);
                a.mov(eax, __dword_ptr[0]);
                a.mov(ebx, 0x10);
                a.mov(ds, bx);
                a.call(hex);
            }
        });
        var native = EngineCatalog.Get("native").Run(image, EngineFixtures.Options);
        var run = EngineCatalog.Get(engine).Run(image, EngineFixtures.Options);

        Assert.Equal("1111111122222222done\n", native.UartOutput);
        Assert.Equal(native.UartOutput, run.UartOutput);
        Assert.True(run.Total[Event.TracingFault] >= 6, $"{run.Total[Event.TracingFault]} tracing faults");
    }

    private static Counters Measured(string engine, string workload, uint iterations) =>
        EngineFixtures.Run(engine, workload, iterations).Measured!;
}
