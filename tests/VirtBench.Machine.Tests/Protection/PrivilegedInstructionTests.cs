using Iced.Intel;
using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Protection;

/// <summary>Privileged and IOPL-sensitive instructions in ring 3 raise #GP(0) and do not retire.</summary>
public class PrivilegedInstructionTests
{
    private static readonly Dictionary<string, Action<Assembler>> Instructions = new()
    {
        ["cli"] = a => a.cli(),
        ["sti"] = a => a.sti(),
        ["hlt"] = a => a.hlt(),
        ["mov cr0, eax"] = a => a.mov(cr0, eax),
        ["mov eax, cr3"] = a => a.mov(eax, cr3),
        ["mov cr3, eax"] = a => a.mov(cr3, eax),
        ["mov dr7, eax"] = a => a.mov(dr7, eax),
        ["lgdt"] = a => a.lgdt(__[KernelLayout.UserData]),
        ["lidt"] = a => a.lidt(__[KernelLayout.UserData]),
        ["lldt"] = a => a.lldt(ax),
        ["ltr"] = a => a.ltr(ax),
        ["lmsw"] = a => a.lmsw(ax),
        ["clts"] = a => a.clts(),
        ["invlpg"] = a => a.invlpg(__[KernelLayout.UserData]),
        ["wbinvd"] = a => a.wbinvd(),
        ["rdmsr"] = a => a.rdmsr(),
        ["wrmsr"] = a => a.wrmsr(),
        ["in al, dx (IOPL 0)"] = a => a.@in(al, dx),
        ["out 0x80, al (IOPL 0)"] = a => a.@out(0x80, al),
        ["popfd cannot set IOPL, then cli"] = a => { a.push(0x3202); a.popfd(); a.cli(); },
    };

    public static TheoryData<string> Names() => new(Instructions.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void RaisesGeneralProtectionInRingThree(string name)
    {
        Label fault = default;
        var guest = TestKernel.Build(k =>
        {
            var user = k.Program.CreateLabel("user");
            k.EnterUserMode(user);
            k.Program.Place(ref user);
            Instructions[name](k.Asm);
            fault = k.Program.CreateLabel("fault");
            k.Program.Place(ref fault);
            k.Asm.nop();
        }, name: "privileged");
        var pc = new Pc(guest.Image);
        var outcome = pc.Run();

        // The reported EIP must be the instruction just before the label, and it must not have retired.
        Assert.True(ExceptionReport.TryParse(pc.Uart.Output.TrimEnd('\n'), out var report), pc.Uart.Output + outcome);
        var faulting = guest.Decode(report.Eip)!.Value;
        Assert.Equal(guest.Address(fault), (uint)faulting.NextIP);
        Assert.Equal(new ExceptionReport(Cpu.Vectors.GP, 0, report.Eip, KernelLayout.UserCode32, 0), report);
        Assert.Equal(0ul, pc.Counters.Instructions(ExecutionMode.Ring3, faulting.Mnemonic));
        Assert.Equal(1ul, pc.Counters[Event.StackSwitch]);
    }
}
