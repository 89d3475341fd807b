using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Instructions.CaseImage;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>cmpxchg, xadd, cmpxchg8b: results, flags, and the unconditional write of a memory destination.</summary>
public class AtomicsTests
{
    internal static readonly CpuCase[] Cases =
    [
        new CpuCase("cmpxchg ecx,edx when equal", a => a.cmpxchg(ecx, edx)).Given(eax: 5, ecx: 5, edx: 9).Expect(ecx: 9, flags: "PF ZF"),
        new CpuCase("cmpxchg ecx,edx when different", a => a.cmpxchg(ecx, edx)).Given(eax: 5, ecx: 7, edx: 9).Expect(eax: 7, flags: "CF AF SF"),
        new CpuCase("cmpxchg eax,edx (accumulator as destination)", a => a.cmpxchg(eax, edx)).Given(eax: 5, edx: 9).Expect(eax: 9, flags: "PF ZF"),
        new CpuCase("cmpxchg byte [m],cl when equal", a => a.cmpxchg(__byte_ptr[Data], cl)).Given(eax: 0x1111_1133, ecx: 0x44).WithMemory(Data, 0x33)
            .Expect(flags: "PF ZF").ExpectMemory(Data, 0x44),
        new CpuCase("cmpxchg word [m],cx when different", a => a.cmpxchg(__word_ptr[Data], cx)).Given(eax: 0x1111_1111).WithMemory(Data, 0x22, 0x22)
            .Expect(eax: 0x1111_2222, flags: "CF AF SF").ExpectMemory(Data, 0x22, 0x22),
        new CpuCase("cmpxchg to a read-only page faults even when different", a => a.cmpxchg(__dword_ptr[ReadOnly], ecx)).Given(eax: 1)
            .Faults(14, error: 3, cr2: ReadOnly),
        new CpuCase("lock cmpxchg dword [m],ecx", a => a.@lock.cmpxchg(__dword_ptr[Data], ecx)).Given(eax: 0).Expect(flags: "PF ZF").ExpectMemory32(Data, 0x2222_2222),
        new CpuCase("xadd ecx,edx", a => a.xadd(ecx, edx)).Given(ecx: 0xFFFF_FFFF, edx: 1).Expect(ecx: 0, edx: 0xFFFF_FFFF, flags: "CF PF AF ZF"),
        new CpuCase("xadd eax,eax", a => a.xadd(eax, eax)).Given(eax: 3).Expect(eax: 6, flags: "PF"),
        new CpuCase("xadd byte [m],al", a => a.xadd(__byte_ptr[Data], al)).Given(eax: 0x1111_1101).WithMemory(Data, 0x7F)
            .Expect(eax: 0x1111_117F, flags: "AF SF OF").ExpectMemory(Data, 0x80),
        new CpuCase("lock xadd dword [m],ecx", a => a.@lock.xadd(__dword_ptr[Data], ecx)).Given(ecx: 5).WithMemory32(Data, 10)
            .Expect(ecx: 10, flags: "PF").ExpectMemory32(Data, 15),
        new CpuCase("xadd word [m],dx", a => a.xadd(__word_ptr[Data], dx)).Given(edx: 0x3333_8000).WithMemory(Data, 0x00, 0x80)
            .Expect(edx: 0x3333_8000, flags: "CF PF ZF OF").ExpectMemory(Data, 0, 0),
        new CpuCase("cmpxchg8b when equal", a => a.cmpxchg8b(__qword_ptr[Data])).Given(eax: 0x0123_4567, edx: 0x89AB_CDEF, ebx: 0xDEAD_BEEF, ecx: 0xCAFE_BABE, flags: "CF")
            .WithMemory32(Data, 0x0123_4567, 0x89AB_CDEF).Expect(flags: "CF ZF").ExpectMemory32(Data, 0xDEAD_BEEF, 0xCAFE_BABE),
        new CpuCase("cmpxchg8b when different", a => a.cmpxchg8b(__qword_ptr[Data])).Given(eax: 0, edx: 0, flags: "ZF OF")
            .WithMemory32(Data, 1, 2).Expect(eax: 1, edx: 2, flags: "OF").ExpectMemory32(Data, 1, 2),
        new CpuCase("cmpxchg8b across into a read-only page writes nothing", a => a.cmpxchg8b(__qword_ptr[ReadOnly - 4])).Given(eax: 0, edx: 0)
            .WithMemory32(ReadOnly - 4, 0).Faults(14, error: 3, cr2: ReadOnly).ExpectMemory32(ReadOnly - 4, 0),
        new CpuCase("cmpxchg8b with a register operand is #UD", a => a.db(0x0F, 0xC7, 0xC8)).Faults(6),
        new CpuCase("lock on a register destination is #UD", a => a.db(0xF0, 0x01, 0xC0)).Faults(6),
    ];

    public static TheoryData<string> Names => CaseRunner.Names(Cases);

    [Theory, MemberData(nameof(Names))]
    public void Executes(string name) => CaseRunner.Run(Cases, name);
}
