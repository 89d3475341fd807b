using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Execution;

/// <summary>How runs end: the budget, a triple fault, hlt; always with a clear one-line message.</summary>
public class RunOutcomeTests
{
    private static void AssertOneLine(RunOutcome outcome) => Assert.DoesNotContain('\n', outcome.Message);

    [Fact]
    public void TheBudgetStopsARunawayLoopAtExactlyTheBudget()
    {
        var image = TestImage.Build(a =>
        {
            var spin = a.CreateLabel();
            a.Label(ref spin);
            a.inc(eax);
            a.jmp(spin);
        }, "runaway");
        var pc = new Pc(image, new MachineOptions { InstructionBudget = 100_001 });
        var outcome = pc.Run();
        Assert.Equal(OutcomeKind.BudgetExhausted, outcome.Kind);
        Assert.Contains("budget of 100,001", outcome.Message);
        AssertOneLine(outcome);
        Assert.Equal(100_001ul, pc.Cpu.Retired);
        Assert.Equal(Platform.MultibootBootMagic + 50_001, pc.Cpu.Eax); // inc, jmp, inc, ...: the last one retired is an inc
    }

    [Fact]
    public void AFaultWithoutAnIdtIsATripleFault()
    {
        Iced.Intel.Label fault = default;
        var guest = GuestProgram.Build(p =>
        {
            p.Asm.mov(eax, 1u);
            fault = p.CreateLabel();
            p.Place(ref fault);
            p.Asm.ud2(); // #UD; the IDT limit is 0, so #GP; #GP again gives #DF; #DF's delivery faults too
        }, "no-idt");
        var pc = new Pc(guest.Image);
        var outcome = pc.Run();
        Assert.Equal(OutcomeKind.TripleFault, outcome.Kind);
        Assert.Equal($"triple fault at EIP 0x{guest.Address(fault):x8}: #GP while delivering a double fault", outcome.Message);
        Assert.Equal(3ul, pc.Counters[Event.ExceptionDelivered]); // attempts: #UD, #GP, #DF
    }

    [Fact]
    public void AFaultOnAnUnmappedKernelStackIsATripleFault()
    {
        var guest = TestKernel.Build(k =>
        {
            k.SetPte(KernelLayout.TestPages, 0);
            k.Asm.mov(esp, KernelLayout.TestPages + 0x1000); // the stack page is not present
            k.Asm.ud2();                                      // delivering #UD pushes onto it: #PF, then #DF, then shutdown
        }, new KernelOptions { Paging = true }, "bad-stack");
        var pc = new Pc(guest.Image);
        var outcome = pc.Run();
        Assert.Equal(OutcomeKind.TripleFault, outcome.Kind);
        Assert.Contains("#PF while delivering a double fault", outcome.Message);
        AssertOneLine(outcome);
        Assert.Equal(KernelLayout.TestPages + 0xFFC, pc.Cpu.Cr2);
        Assert.Equal("", pc.Uart.Output);
    }

    [Fact]
    public void HltWithInterruptsDisabledHalts()
    {
        var image = TestImage.Build(a => { a.cli(); a.hlt(); a.ud2(); }, "halt");
        var pc = new Pc(image);
        var outcome = pc.Run();
        Assert.Equal(OutcomeKind.Halted, outcome.Kind);
        Assert.StartsWith("hlt with interrupts disabled at EIP", outcome.Message);
        Assert.Equal(2ul, pc.Cpu.Retired);
    }

    [Fact]
    public void HltWithNothingToWakeItHalts()
    {
        var image = TestImage.Build(a => { a.sti(); a.hlt(); a.ud2(); }, "halt-sti");
        var outcome = new Pc(image).Run();
        Assert.Equal(OutcomeKind.Halted, outcome.Kind);
        Assert.StartsWith("hlt with no timer armed at EIP", outcome.Message);
    }

    [Fact]
    public void TheDebugExitPortGivesQemusStatus()
    {
        var outcome = new Pc(TestImage.Build(a => TestImage.Exit(a, 21))).Run();
        Assert.Equal((OutcomeKind.DebugExit, 43), (outcome.Kind, outcome.ExitStatus));
        Assert.False(outcome.IsSuccess);
    }
}
