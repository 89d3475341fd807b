using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>daa, das, aaa, aas, aam (#DE for 0), aad: results and flags (undefined ones as QEMU 7.2).</summary>
public class BcdTests
{
    internal static readonly CpuCase[] Cases =
    [
        new CpuCase("daa after 79 + 35", a => { a.add(al, 0x35); a.daa(); }).Given(eax: 0x1111_1179).Expect(eax: 0x1111_1114, flags: "CF PF AF"),
        new CpuCase("daa with nothing to adjust clears OF", a => a.daa()).Given(eax: 0x12, flags: "OF").Expect(flags: "PF"),
        new CpuCase("daa with AF and CF set", a => a.daa()).Given(eax: 0x00, flags: "CF AF").Expect(eax: 0x66, flags: "CF PF AF"),
        new CpuCase("das after 35 - 47", a => { a.sub(al, 0x47); a.das(); }).Given(eax: 0x1111_1135).Expect(eax: 0x1111_1188, flags: "CF PF AF SF"),
        new CpuCase("das with AF set and a small AL", a => a.das()).Given(eax: 0x03, flags: "AF").Expect(eax: 0xFD, flags: "CF AF SF"),
        new CpuCase("aaa after 8 + 6", a => { a.add(al, 6); a.aaa(); }).Given(eax: 0x1111_0008).Expect(eax: 0x1111_0104, flags: "CF AF"),
        new CpuCase("aaa with AL above 0xF9 carries twice into AH", a => a.aaa()).Given(eax: 0x1111_03FA, flags: "AF").Expect(eax: 0x1111_0500, flags: "CF AF"),
        new CpuCase("aaa with nothing to adjust keeps ZF", a => a.aaa()).Given(eax: 0x1111_0035, flags: "CF ZF").Expect(eax: 0x1111_0005, flags: "ZF"),
        new CpuCase("aas with a borrow", a => a.aas()).Given(eax: 0x1111_0502, flags: "AF SF").Expect(eax: 0x1111_030C, flags: "CF AF SF"),
        new CpuCase("aas with nothing to adjust", a => a.aas()).Given(eax: 0x1111_0519, flags: "CF").Expect(eax: 0x1111_0509, flags: ""),
        new CpuCase("aam", a => a.aam(10)).Given(eax: 0x1111_114F, flags: "CF OF AF").Expect(eax: 0x1111_0709, flags: "PF"),
        new CpuCase("aam 16", a => a.aam(16)).Given(eax: 0x1111_11AB).Expect(eax: 0x1111_0A0B, flags: ""),
        new CpuCase("aam 0 is #DE", a => a.aam(0)).Given(eax: 0x1111_114F).Faults(0),
        new CpuCase("aad", a => a.aad(10)).Given(eax: 0x1111_0709, flags: "CF").Expect(eax: 0x1111_004F, flags: ""),
        new CpuCase("aad wraps AL", a => a.aad(10)).Given(eax: 0x1111_FFFF).Expect(eax: 0x1111_00F5, flags: "PF SF"),
        new CpuCase("aad to zero", a => a.aad(7)).Given(eax: 0x1111_0000, flags: "OF AF").Expect(flags: "PF ZF"),
    ];

    public static TheoryData<string> Names => CaseRunner.Names(Cases);

    [Theory, MemberData(nameof(Names))]
    public void Executes(string name) => CaseRunner.Run(Cases, name);
}
