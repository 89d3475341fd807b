using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>The case harness itself: it must see what it is asked to check, or no instruction test means anything.</summary>
public class HarnessTests
{
    [Fact]
    public void ReportsRegistersFlagsAndMemory()
    {
        var c = new CpuCase("mov and add", a => { a.mov(ebx, 5u); a.add(eax, 1); a.mov(__dword_ptr[CaseImage.Data], eax); })
            .Given(eax: 0xFFFF_FFFF, flags: "OF")
            .Expect(eax: 0, ebx: 5, flags: "CF PF AF ZF")
            .ExpectMemory32(CaseImage.Data, 0);
        var built = CaseImage.Build([c]);
        var dump = CaseRunner.RunOnMachine(built.Image).Single();
        Assert.Empty(CaseRunner.Compare(c, dump, built.CodeStarts[0]));
    }

    [Fact]
    public void DetectsAWrongRegisterFlagOrFault()
    {
        var c = new CpuCase("ud2", a => { a.inc(ecx); a.ud2(); }).Expect(ecx: 0x2222_2222, flags: "CF");
        var built = CaseImage.Build([c]);
        var problems = CaseRunner.Compare(c, CaseRunner.RunOnMachine(built.Image).Single(), built.CodeStarts[0]);
        Assert.Contains(problems, p => p.StartsWith("unexpected #UD") && p.Contains("code offset 1"));
        Assert.Contains(problems, p => p.StartsWith("ECX = 0x22222223"));
        Assert.Contains(problems, p => p.StartsWith("flags"));
    }

    [Fact]
    public void RepairsPageFaultsAndRestarts()
    {
        var c = new CpuCase("write to the hole", a => a.mov(__dword_ptr[CaseImage.Hole + 8], eax))
            .RepairsPageFaults(1, CaseImage.Hole + 8)
            .ExpectMemory32(CaseImage.Hole + 8, 0x1111_1111);
        var built = CaseImage.Build([c]);
        Assert.Empty(CaseRunner.Compare(c, CaseRunner.RunOnMachine(built.Image).Single(), built.CodeStarts[0]));
    }
}
