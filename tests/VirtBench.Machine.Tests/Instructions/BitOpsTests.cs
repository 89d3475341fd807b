using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Instructions.CaseImage;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>bt, bts, btr, btc (register and bit-string memory forms) and bsf, bsr (and tzcnt/lzcnt, which execute as them).</summary>
public class BitOpsTests
{
    internal static readonly CpuCase[] Cases =
    [
        // After flags set explicitly (popf), only CF changes.
        new CpuCase("bt eax,5 sets CF and keeps the other flags", a => a.bt(eax, 5)).Given(eax: 0x20, flags: "ZF SF OF").Expect(flags: "CF ZF SF OF"),
        new CpuCase("bt eax,ecx clears CF", a => a.bt(eax, ecx)).Given(eax: 0, ecx: 3, flags: "CF PF").Expect(flags: "PF"),
        new CpuCase("bt eax,ecx masks the offset to 5 bits", a => a.bt(eax, ecx)).Given(eax: 8, ecx: 35).Expect(flags: "CF"),
        new CpuCase("bts ecx,edx", a => a.bts(ecx, edx)).Given(ecx: 0, edx: 31).Expect(ecx: 0x8000_0000, flags: ""),
        new CpuCase("btr ax,bx masks the offset to 4 bits", a => a.btr(ax, bx)).Given(eax: 0x1111_FFFF, ebx: 0x4444_0013).Expect(eax: 0x1111_FFF7, flags: "CF"),
        new CpuCase("btc dword [m],3", a => a.btc(__dword_ptr[Data], 3)).WithMemory32(Data, 0x0F).Expect(flags: "CF").ExpectMemory32(Data, 0x07),
        new CpuCase("bts word [m],19 masks an immediate offset", a => a.bts(__word_ptr[Data], 19)).WithMemory(Data, 0, 0, 0)
            .Expect(flags: "").ExpectMemory(Data, 0x08, 0, 0),
        new CpuCase("bt [m],ecx addresses the bit string", a => a.bt(__dword_ptr[Data], ecx)).Given(ecx: 65).WithMemory32(Data, 0, 0, 2).Expect(flags: "CF"),
        new CpuCase("bts [m],ecx with a negative offset", a => a.bts(__dword_ptr[Data + 16], ecx)).Given(ecx: 0xFFFF_FFFF)
            .Expect(flags: "").ExpectMemory32(Data + 8, 0, 0x8000_0000, 0),
        new CpuCase("btr word [m],cx with offset 17", a => a.btr(__word_ptr[Data], cx)).Given(ecx: 17).WithMemory32(Data, 0xFFFF_FFFF)
            .Expect(flags: "CF").ExpectMemory(Data, 0xFF, 0xFF, 0xFD, 0xFF),
        new CpuCase("btc word [m],cx with offset -1", a => a.btc(__word_ptr[Data + 2], cx)).Given(ecx: 0xFFFF).WithMemory32(Data, 0)
            .Expect(flags: "").ExpectMemory(Data, 0x00, 0x80, 0, 0),
        new CpuCase("bts [read-only],0 faults", a => a.bts(__dword_ptr[ReadOnly], 0)).Faults(14, error: 3, cr2: ReadOnly),
        // After an arithmetic result, QEMU turns the flags into a right shift of that result: AF = 0, OF from the shifted value.
        new CpuCase("bt after add (QEMU's undefined flags)", a => { a.add(eax, ebx); a.bt(eax, 0); })
            .Given(eax: 0x7FFF_FFFF, ebx: 1).Expect(eax: 0x8000_0000, flags: "PF SF"),
        new CpuCase("bt after an 8-bit sub (QEMU's undefined flags)", a => { a.sub(al, 1); a.bt(ecx, 4); })
            .Given(eax: 0x1111_1100, ecx: 0x10).Expect(eax: 0x1111_11FF, flags: "CF PF SF OF"),

        new CpuCase("bsf eax,ecx", a => a.bsf(eax, ecx)).Given(ecx: 0x00F0_0000, flags: "CF OF AF").Expect(eax: 20, flags: "PF"),
        new CpuCase("bsf with a zero source keeps the destination", a => a.bsf(eax, ecx)).Given(ecx: 0).Expect(flags: "PF ZF"),
        new CpuCase("bsr eax,ecx", a => a.bsr(eax, ecx)).Given(ecx: 0x8000_0001).Expect(eax: 31, flags: "SF"),
        new CpuCase("bsr ax,[m]", a => a.bsr(ax, __word_ptr[Data])).WithMemory(Data, 0x00, 0x03).Expect(eax: 0x1111_0009, flags: "PF"),
        new CpuCase("bsf dx,cx with a zero 16-bit source", a => a.bsf(dx, cx)).Given(ecx: 0xFFFF_0000).Expect(flags: "PF ZF"),
        new CpuCase("bsr dword [m] of 1", a => a.bsr(edi, __dword_ptr[Data])).WithMemory32(Data, 1).Expect(edi: 0, flags: ""),
        new CpuCase("tzcnt executes as bsf (no BMI1)", a => a.db(0xF3, 0x0F, 0xBC, 0xC1)).Given(ecx: 8).Expect(eax: 3, flags: ""),
        new CpuCase("lzcnt executes as bsr (no ABM)", a => a.db(0xF3, 0x0F, 0xBD, 0xC1)).Given(ecx: 8).Expect(eax: 3, flags: ""),
        new CpuCase("popcnt is #UD (no POPCNT)", a => a.db(0xF3, 0x0F, 0xB8, 0xC1)).Given(ecx: 8).Faults(6),
    ];

    public static TheoryData<string> Names => CaseRunner.Names(Cases);

    [Theory, MemberData(nameof(Names))]
    public void Executes(string name) => CaseRunner.Run(Cases, name);
}
