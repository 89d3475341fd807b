using Iced.Intel;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Vmx;

/// <summary>Instruction exits in VMX non-root mode: which instructions exit under which controls, and what the exit reports (SDM 25.1, 27.2).</summary>
public class VmExitTests
{
    private const uint Cr0Mp = 2, Cr0Ts = 8, Cr0Pg = 0x8000_0000;

    /// <summary>Launches <paramref name="emit"/> (then an exit through isa-debug-exit) under a harness that skips every exiting instruction.</summary>
    private static VmxHarness Run(Action<Assembler> emit, Action<VmxHarness>? configure = null, bool expectSuccess = true)
    {
        var h = VmxHarness.Launch(TestImage.Build(a => { emit(a); TestImage.Exit(a); }), configure);
        h.Handler ??= VmxHarness.SkipWritingPorts;
        var outcome = h.Pc.Run();
        if (expectSuccess) Assert.True(outcome.IsSuccess, outcome.ToString());
        return h;
    }

    private static void Controls(VmxHarness h, ProcessorBasedControls bits) => h.SetControls(VmcsField.ProcessorBasedControls, (uint)bits);

    [Fact]
    public void Cpuid_always_exits_before_it_executes()
    {
        var h = Run(a => { a.mov(eax, 0u); a.xor(ebx, ebx); a.cpuid(); a.cpuid(); });
        Assert.Equal([VmExitReason.Cpuid, VmExitReason.Cpuid], h.Exits.Select(e => e.Reason));
        Assert.All(h.Exits, e => Assert.Equal(2, e.InstructionLength));
        var c = h.Pc.Counters;
        Assert.Equal(0ul, c.Instructions(Mnemonic.Cpuid)); // exited, never retired
        Assert.Equal(2ul, c[Event.ExitCpuid]);
        Assert.Equal(3ul, c[Event.VmEntry]);              // the launch and two resumes
        Assert.Equal(0u, h.Pc.Cpu.Ebx);                    // the harness emulated nothing: no vendor string arrived
    }

    [Fact]
    public void Hlt_exits_only_with_hlt_exiting()
    {
        var h = Run(a => a.hlt(), x => Controls(x, ProcessorBasedControls.HltExiting));
        var exit = Assert.Single(h.Exits);
        Assert.Equal((VmExitReason.Hlt, 1), (exit.Reason, exit.InstructionLength));

        var halted = VmxHarness.Launch(TestImage.Build(a => a.hlt()));
        Assert.Equal(OutcomeKind.Halted, halted.Pc.Run().Kind); // no exit, and nothing to wake the guest
        Assert.Empty(halted.Exits);
    }

    [Fact]
    public void Port_io_exits_by_the_unconditional_control_or_by_the_bitmaps()
    {
        var h = Run(a => { a.mov(al, 0x11); a.@out(0x80, al); a.mov(dx, 0x3F8); a.@in(ax, dx); },
            x => Controls(x, ProcessorBasedControls.UnconditionalIoExiting));
        Assert.Equal(
            [new IoQualification(0x80, 1, In: false, ImmediatePort: true), new IoQualification(0x3F8, 2, In: true),
             new IoQualification(Platform.DebugExitPort, 4, In: false, ImmediatePort: true)],
            h.Exits.Select(e => IoQualification.Decode(e.Qualification)));
        Assert.Equal(3ul, h.Pc.Counters[Event.ExitIo]);
    }

    [Fact]
    public void With_bitmaps_only_marked_ports_exit_and_a_wrapping_access_always_does()
    {
        var h = Run(a =>
        {
            a.mov(al, 1);
            a.@out(0x80, al);     // marked: exits
            a.@out(0x81, al);     // not marked
            a.mov(dx, 0x8001);
            a.@out(dx, al);       // marked in bitmap B
            a.mov(dx, 0xFFFE);
            a.@out(dx, eax);      // FFFE..0001 wraps: exits though no bit is set
        }, x =>
        {
            Controls(x, ProcessorBasedControls.UseIoBitmaps | ProcessorBasedControls.UnconditionalIoExiting);
            x.SetBit(x.IoBitmapA, 0x80);
            x.SetBit(x.IoBitmapB, 0x0001);
        });
        Assert.Equal([0x80, 0x8001, 0xFFFE], h.Exits.Select(e => (int)IoQualification.Decode(e.Qualification).Port));
    }

    [Fact]
    public void Msr_accesses_exit_by_the_read_and_write_bitmaps_and_always_outside_their_ranges()
    {
        var h = Run(a =>
        {
            a.mov(ecx, Msrs.SysenterCs);
            a.rdmsr();                 // read bit clear: runs
            a.wrmsr();                 // write bit set: exits
            a.mov(ecx, 0x4000_0000u);
            a.rdmsr();                 // outside both ranges: exits
        }, x =>
        {
            Controls(x, ProcessorBasedControls.UseMsrBitmaps);
            x.SetBit(x.MsrBitmap + 2048, Msrs.SysenterCs);
        });
        Assert.Equal([VmExitReason.Wrmsr, VmExitReason.Rdmsr], h.Exits.Select(e => e.Reason));

        var all = Run(a => { a.mov(ecx, Msrs.Tsc); a.rdmsr(); });
        Assert.Equal(VmExitReason.Rdmsr, Assert.Single(all.Exits).Reason); // without MSR bitmaps every access exits
    }

    [Fact]
    public void A_cr0_write_exits_when_it_changes_an_owned_bit_against_the_shadow_before_the_value_is_checked()
    {
        var h = Run(a =>
        {
            a.mov(eax, cr0);
            a.or(eax, (int)Cr0Mp);
            a.mov(cr0, eax);           // MP is the guest's: no exit
            a.mov(ebx, cr0);           // reads TS from the shadow (1), MP from CR0
            a.and(eax, ~(int)Cr0Ts);
            a.mov(cr0, eax);           // TS 0 against the shadow's 1: exits
            a.mov(ecx, Cr0Pg);
            a.mov(cr0, ecx);           // PG without PE would be #GP(0), but PG is owned: the exit comes first
        }, x =>
        {
            x.SetControls(VmcsField.Cr0GuestHostMask, Cr0Ts | Cr0Pg);
            x.SetControls(VmcsField.Cr0ReadShadow, Cr0Ts);
        });
        var cpu = h.Pc.Cpu;
        Assert.Equal(Cr0Ts | Cr0Mp, cpu.Ebx & (Cr0Ts | Cr0Mp));
        Assert.Equal(0u, cpu.Cr0 & Cr0Ts);    // the guest never changed the owned TS
        Assert.Equal(Cr0Mp, cpu.Cr0 & Cr0Mp);
        Assert.Equal([new CrAccessQualification(0, CrAccessType.MovToCr, Reg.Eax), new CrAccessQualification(0, CrAccessType.MovToCr, Reg.Ecx)],
            h.Exits.Select(e => CrAccessQualification.Decode(e.Qualification)));
        Assert.Equal(0ul, h.Pc.Counters[Event.ExceptionDelivered]);
    }

    [Fact]
    public void Lmsw_and_clts_follow_the_owned_bits_and_the_shadow()
    {
        var h = Run(a =>
        {
            a.xor(eax, eax);
            a.lmsw(ax);                // cannot clear PE, TS unchanged against a shadow TS of 0: no exit
            a.clts();                  // TS owned, shadow TS 0: no exit, and the owned TS is left alone
            a.mov(ax, 0xB);
            a.lmsw(ax);                // sets TS (owned, shadow 0): exits with the source
        }, x =>
        {
            x.SetControls(VmcsField.Cr0GuestHostMask, Cr0Ts);
            x.Vmcs.Write(VmcsField.GuestCr0, x.Vmcs.Inspect(VmcsField.GuestCr0) | Cr0Ts);
        });
        var q = CrAccessQualification.Decode(Assert.Single(h.Exits).Qualification);
        Assert.Equal((CrAccessType.Lmsw, (ushort)0xB, false), (q.Access, q.LmswSource, q.LmswFromMemory));
        Assert.Equal(Cr0Ts, h.Pc.Cpu.Cr0 & Cr0Ts);

        var clts = Run(a => a.clts(), x =>
        {
            x.SetControls(VmcsField.Cr0GuestHostMask, Cr0Ts);
            x.SetControls(VmcsField.Cr0ReadShadow, Cr0Ts);
        });
        Assert.Equal(CrAccessType.Clts, CrAccessQualification.Decode(Assert.Single(clts.Exits).Qualification).Access);
    }

    [Fact]
    public void Cr3_loads_and_stores_and_invlpg_exit_under_their_controls_with_their_operands()
    {
        var h = Run(a =>
        {
            a.mov(esi, 0x0040_0000);
            a.mov(cr3, esi);
            a.mov(edi, cr3);
            a.invlpg(__[esi + 0x1234]);
        }, x => Controls(x, ProcessorBasedControls.Cr3LoadExiting | ProcessorBasedControls.Cr3StoreExiting | ProcessorBasedControls.InvlpgExiting));
        Assert.Equal([VmExitReason.ControlRegisterAccess, VmExitReason.ControlRegisterAccess, VmExitReason.Invlpg], h.Exits.Select(e => e.Reason));
        Assert.Equal(new CrAccessQualification(3, CrAccessType.MovToCr, Reg.Esi), CrAccessQualification.Decode(h.Exits[0].Qualification));
        Assert.Equal(new CrAccessQualification(3, CrAccessType.MovFromCr, Reg.Edi), CrAccessQualification.Decode(h.Exits[1].Qualification));
        Assert.Equal(0x0040_1234u, h.Exits[2].Qualification);
        Assert.Equal(0u, h.Pc.Cpu.Cr3);
        var c = h.Pc.Counters;
        Assert.Equal((1ul, 1ul, 1ul), (c[Event.ExitCr3Load], c[Event.ExitCrAccess], c[Event.ExitInvlpg]));
    }

    [Fact]
    public void Exceptions_in_the_bitmap_exit_instead_of_being_delivered()
    {
        var h = Run(a =>
        {
            a.xor(ecx, ecx);
            a.div(ecx);                // #DE: a fault, at the div
            a.int3();                  // #BP: a software exception, with its length
        }, x =>
        {
            x.SetControls(VmcsField.ExceptionBitmap, 1u << Vectors.DE | 1u << Vectors.BP);
            x.Handler = (y, e) =>
            {
                // A fault reports no instruction length: this VMM knows div ecx is 2 bytes.
                y.Vmcs.Write(VmcsField.GuestRip, y.Vmcs.Read(VmcsField.GuestRip) + (e.InstructionLength == 0 ? 2u : (uint)e.InstructionLength));
                return true;
            };
        });
        Assert.Equal(2, h.Exits.Count);
        Assert.Equal(InterruptionInfo.Of(Vectors.DE, InterruptionType.HardwareException), h.Exits[0].Interruption);
        Assert.Equal(0, h.Exits[0].InstructionLength);
        Assert.Equal((InterruptionInfo.Of(Vectors.BP, InterruptionType.SoftwareException), 1), (h.Exits[1].Interruption, h.Exits[1].InstructionLength));
        Assert.Equal(0ul, h.Pc.Counters[Event.ExceptionDelivered]);
        Assert.Equal(2ul, h.Pc.Counters[Event.ExitException]);
    }

    [Fact]
    public void Vmcall_exits_with_its_length()
    {
        var h = Run(a => a.vmcall());
        Assert.Equal((VmExitReason.Vmcall, 3), (Assert.Single(h.Exits).Reason, h.Exits[0].InstructionLength));
    }
}
