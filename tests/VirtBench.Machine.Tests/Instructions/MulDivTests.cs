using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Instructions.CaseImage;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>
/// mul, imul (1, 2 and 3 operands), div, idiv: results, flags (CF = OF = overflow; SF, ZF, PF from the low half
/// and AF = 0 as QEMU), #DE on zero divisors and quotient overflow with the registers unchanged.
/// </summary>
public class MulDivTests
{
    internal static readonly CpuCase[] Cases =
    [
        new CpuCase("mul bl overflowing into ah", a => a.mul(bl)).Given(eax: 0x1111_0080, ebx: 0x4444_4402).Expect(eax: 0x1111_0100, flags: "CF PF ZF OF"),
        new CpuCase("mul bl fitting in al", a => a.mul(bl)).Given(eax: 0x1111_007F, ebx: 2, flags: "CF OF AF").Expect(eax: 0x1111_00FE, flags: "SF"),
        new CpuCase("mul cx", a => a.mul(cx)).Given(eax: 0x1111_FFFF, ecx: 0x2222_FFFF).Expect(eax: 0x1111_0001, edx: 0x3333_FFFE, flags: "CF OF"),
        new CpuCase("mul ecx", a => a.mul(ecx)).Given(eax: 0x8000_0000, ecx: 2).Expect(eax: 0, edx: 1, flags: "CF PF ZF OF"),
        new CpuCase("mul dword [m]", a => a.mul(__dword_ptr[Data])).Given(eax: 0x1234_5678).WithMemory32(Data, 1).Expect(edx: 0, flags: "PF"),
        new CpuCase("mul byte [m] by zero", a => a.mul(__byte_ptr[Data])).Given(eax: 0x1111_11FF, flags: "SF").Expect(eax: 0x1111_0000, flags: "PF ZF"),
        new CpuCase("imul bl overflowing", a => a.imul(bl)).Given(eax: 0x1111_11FF, ebx: 0x4444_4480).Expect(eax: 0x1111_0080, flags: "CF SF OF"),
        new CpuCase("imul bl fitting (negative)", a => a.imul(bl)).Given(eax: 0x1111_11FE, ebx: 3).Expect(eax: 0x1111_FFFA, flags: "PF SF"),
        new CpuCase("imul cx: -32768 * -1", a => a.imul(cx)).Given(eax: 0x1111_8000, ecx: 0xFFFF).Expect(eax: 0x1111_8000, edx: 0x3333_0000, flags: "CF PF SF OF"),
        new CpuCase("imul ecx: -1 * -1", a => a.imul(ecx)).Given(eax: 0xFFFF_FFFF, ecx: 0xFFFF_FFFF).Expect(eax: 1, edx: 0, flags: ""),
        new CpuCase("imul ecx with a negative 64-bit product", a => a.imul(ecx)).Given(eax: 0x7FFF_FFFF, ecx: 0xFFFF_FFFE).Expect(eax: 2, edx: 0xFFFF_FFFF, flags: "CF OF"),
        new CpuCase("imul eax,ecx overflowing", a => a.imul(eax, ecx)).Given(eax: 0x1_0000, ecx: 0x1_0000).Expect(eax: 0, flags: "CF PF ZF OF"),
        new CpuCase("imul ax,cx overflowing 16 bits", a => a.imul(ax, cx)).Given(eax: 0x1111_0100, ecx: 0x2222_0080).Expect(eax: 0x1111_8000, flags: "CF PF SF OF"),
        new CpuCase("imul eax,[m]", a => a.imul(eax, __dword_ptr[Data])).Given(eax: 5).WithMemory32(Data, 0xFFFF_FFFD).Expect(eax: 0xFFFF_FFF1, flags: "SF"),
        new CpuCase("imul eax,ecx,-2 giving exactly -2^31", a => a.imul(eax, ecx, -2)).Given(ecx: 0x4000_0000).Expect(eax: 0x8000_0000, flags: "PF SF"),
        new CpuCase("imul ax,cx,300", a => a.imul(ax, cx, 300)).Given(eax: 0x1111_1111, ecx: 300).Expect(eax: 0x1111_5F90, flags: "CF PF OF"),
        new CpuCase("imul edx,[m],7", a => a.imul(edx, __dword_ptr[Data], 7)).WithMemory32(Data, 6).Expect(edx: 42, flags: ""),

        new CpuCase("div bl", a => a.div(bl)).Given(eax: 0x1111_0107, ebx: 0x10, flags: "CF ZF").Expect(eax: 0x1111_0710),
        new CpuCase("div cx", a => a.div(cx)).Given(eax: 0x1111_0000, edx: 0x3333_0001, ecx: 3).Expect(eax: 0x1111_5555, edx: 0x3333_0001),
        new CpuCase("div ecx", a => a.div(ecx)).Given(eax: 0, edx: 1, ecx: 0x10).Expect(eax: 0x1000_0000, edx: 0),
        new CpuCase("div dword [m]", a => a.div(__dword_ptr[Data])).Given(eax: 100, edx: 0, flags: "SF").WithMemory32(Data, 7).Expect(eax: 14, edx: 2),
        new CpuCase("div bl by zero is #DE", a => a.div(bl)).Given(eax: 0x1234, ebx: 0).Faults(0),
        new CpuCase("div bl with a quotient over 255 is #DE", a => a.div(bl)).Given(eax: 0x1000, ebx: 0x10).Faults(0),
        new CpuCase("div ecx with a quotient over 2^32 is #DE", a => a.div(ecx)).Given(eax: 0, edx: 1, ecx: 1).Faults(0),
        new CpuCase("div dword [m] by zero is #DE", a => a.div(__dword_ptr[Data])).Given(eax: 1, edx: 0).WithMemory32(Data, 0).Faults(0),
        new CpuCase("idiv bl", a => a.idiv(bl)).Given(eax: 0x1111_FFF9, ebx: 2).Expect(eax: 0x1111_FFFD),
        new CpuCase("idiv cx", a => a.idiv(cx)).Given(eax: 0x1111_FFF0, edx: 0x3333_FFFF, ecx: 0xFFFD).Expect(eax: 0x1111_0005, edx: 0x3333_FFFF),
        new CpuCase("idiv ecx", a => a.idiv(ecx)).Given(eax: 0xFFFF_FF9C, edx: 0xFFFF_FFFF, ecx: 7).Expect(eax: 0xFFFF_FFF2, edx: 0xFFFF_FFFE),
        new CpuCase("idiv dword [m] by a negative divisor", a => a.idiv(__dword_ptr[Data])).Given(eax: 100, edx: 0).WithMemory32(Data, 0xFFFF_FFF9)
            .Expect(eax: 0xFFFF_FFF2, edx: 2),
        new CpuCase("idiv bl: -256 / 2 = -128 fits", a => a.idiv(bl)).Given(eax: 0xFF00, ebx: 2).Expect(eax: 0x0080),
        new CpuCase("idiv bl: -128 / -1 is #DE", a => a.idiv(bl)).Given(eax: 0xFF80, ebx: 0xFF).Faults(0),
        new CpuCase("idiv ecx: -2^31 / -1 is #DE", a => a.idiv(ecx)).Given(eax: 0x8000_0000, edx: 0xFFFF_FFFF, ecx: 0xFFFF_FFFF).Faults(0),
        new CpuCase("idiv ecx by zero is #DE", a => a.idiv(ecx)).Given(eax: 5, edx: 0, ecx: 0).Faults(0),
        new CpuCase("idiv ecx: -2^63 / -1 is #DE", a => a.idiv(ecx)).Given(eax: 0, edx: 0x8000_0000, ecx: 0xFFFF_FFFF).Faults(0)
            .OnlyOnThisMachine("QEMU 7.2 computes this quotient with a host division that traps"),
    ];

    public static TheoryData<string> Names => CaseRunner.Names(Cases);

    [Theory, MemberData(nameof(Names))]
    public void Executes(string name) => CaseRunner.Run(Cases, name);
}
