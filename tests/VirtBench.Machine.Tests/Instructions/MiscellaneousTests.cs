using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Instructions.CaseImage;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>bound, salc, arpl, lahf, the nop forms, pause and wait.</summary>
public class MiscellaneousTests
{
    internal static readonly CpuCase[] Cases =
    [
        new CpuCase("bound eax within the bounds", a => a.bound(eax, __qword_ptr[Data])).Given(eax: 3).WithMemory32(Data, 0xFFFF_FFFB, 10).Expect(),
        new CpuCase("bound eax at the upper bound", a => a.bound(eax, __qword_ptr[Data])).Given(eax: 10).WithMemory32(Data, 0xFFFF_FFFB, 10).Expect(),
        new CpuCase("bound eax below the lower bound is #BR", a => a.bound(eax, __qword_ptr[Data])).Given(eax: 0xFFFF_FFF0)
            .WithMemory32(Data, 0xFFFF_FFFB, 10).Faults(5),
        new CpuCase("bound ax above the upper bound is #BR", a => a.bound(ax, __dword_ptr[Data])).Given(eax: 0x1111_0065).WithMemory(Data, 0, 0, 100, 0).Faults(5),
        new CpuCase("bound ax compares signed words", a => a.bound(ax, __dword_ptr[Data])).Given(eax: 0x0000_FFFF).WithMemory(Data, 0xFE, 0xFF, 0, 0).Expect(),
        new CpuCase("salc with CF set", a => a.salc()).Given(eax: 0x1111_1100, flags: "CF").Expect(eax: 0x1111_11FF),
        new CpuCase("salc with CF clear", a => a.salc()).Given(eax: 0x1111_11FF, flags: "ZF").Expect(eax: 0x1111_1100),
        new CpuCase("arpl raises the RPL", a => a.arpl(ax, cx)).Given(eax: 0x1111_0010, ecx: 3).Expect(eax: 0x1111_0013, flags: "ZF"),
        new CpuCase("arpl keeps a higher RPL", a => a.arpl(ax, cx)).Given(eax: 0x1111_0013, ecx: 1, flags: "ZF CF").Expect(flags: "CF"),
        new CpuCase("arpl word [m],cx", a => a.arpl(__word_ptr[Data], cx)).Given(ecx: 2).WithMemory(Data, 0x29, 0x00)
            .Expect(flags: "ZF").ExpectMemory(Data, 0x2A, 0x00),
        new CpuCase("lahf", a => a.lahf()).Given(flags: "CF ZF SF").Expect(eax: 0x1111_C311),
        new CpuCase("pause, nop [m] and the hint nops do nothing", a => { a.pause(); a.nop(__dword_ptr[eax]); a.db(0x0F, 0x18, 0x00); a.db(0x0F, 0x1E, 0x00); a.db(0x0F, 0x0D, 0x08); })
            .Given(eax: Hole, flags: "OF").Expect(),
        new CpuCase("endbr32 and rdsspd are nops without CET", a => { a.db(0xF3, 0x0F, 0x1E, 0xFB); a.db(0xF3, 0x0F, 0x1E, 0xC8); }).Given(flags: "CF").Expect(),
        new CpuCase("wait with CR0.TS clear does nothing", a => a.wait()).Given(flags: "PF").Expect(),
        new CpuCase("ud2 is #UD", a => { a.nop(); a.ud2(); }).Faults(6, offset: 1),
    ];

    public static TheoryData<string> Names => CaseRunner.Names(Cases);

    [Theory, MemberData(nameof(Names))]
    public void Executes(string name) => CaseRunner.Run(Cases, name);
}
