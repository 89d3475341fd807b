using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Instructions.CaseImage;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>
/// A review of the families written before the others (arithmetic and logic, data movement, flag control, loops)
/// against QEMU, concentrating on flags and edge cases.
/// </summary>
public class ExistingFamilyTests
{
    internal static readonly CpuCase[] Cases =
    [
        // Arithmetic and logic
        new CpuCase("add al,bl overflowing to 0x80", a => a.add(al, bl)).Given(eax: 0x7F, ebx: 1).Expect(eax: 0x80, flags: "AF SF OF"),
        new CpuCase("add eax,-1 (sign-extended imm8)", a => a.add(eax, -1)).Given(eax: 1).Expect(eax: 0, flags: "CF PF AF ZF"),
        new CpuCase("adc ax,cx with CF", a => a.adc(ax, cx)).Given(eax: 0x1111_FFFF, ecx: 0x2222_0000, flags: "CF").Expect(eax: 0x1111_0000, flags: "CF PF AF ZF"),
        new CpuCase("adc al,0x7F with CF", a => a.adc(al, 0x7F)).Given(eax: 0, flags: "CF").Expect(eax: 0x80, flags: "AF SF OF"),
        new CpuCase("sbb eax,ecx with CF", a => a.sbb(eax, ecx)).Given(eax: 0, ecx: 0, flags: "CF").Expect(eax: 0xFFFF_FFFF, flags: "CF PF AF SF"),
        new CpuCase("sbb al,0x80", a => a.sbb(al, 0x80)).Given(eax: 0).Expect(eax: 0x80, flags: "CF SF OF"),
        new CpuCase("sub byte [m],1", a => a.sub(__byte_ptr[Data], 1)).Expect(flags: "CF PF AF SF").ExpectMemory(Data, 0xFF),
        new CpuCase("cmp eax,ecx", a => a.cmp(eax, ecx)).Given(eax: 5, ecx: 7).Expect(flags: "CF AF SF"),
        new CpuCase("cmp word [m],0x8000", a => a.cmp(__word_ptr[Data], unchecked((short)0x8000))).WithMemory(Data, 0xFF, 0x7F).Expect(flags: "CF PF SF OF"),
        new CpuCase("neg al of 0x80", a => a.neg(al)).Given(eax: 0x80).Expect(flags: "CF SF OF"),
        new CpuCase("neg eax of 0", a => a.neg(eax)).Given(eax: 0, flags: "CF").Expect(flags: "PF ZF"),
        new CpuCase("inc al keeps CF", a => a.inc(al)).Given(eax: 0x7F, flags: "CF").Expect(eax: 0x80, flags: "CF AF SF OF"),
        new CpuCase("dec ax from 0x8000", a => a.dec(ax)).Given(eax: 0x8000).Expect(eax: 0x7FFF, flags: "PF AF OF"),
        new CpuCase("inc dword [m] wrapping keeps CF clear", a => a.inc(__dword_ptr[Data])).WithMemory32(Data, 0xFFFF_FFFF).Expect(flags: "PF AF ZF").ExpectMemory32(Data, 0),
        new CpuCase("and clears CF and OF", a => a.and(eax, 0xF0)).Given(eax: 0x0F, flags: "CF OF AF").Expect(eax: 0, flags: "PF ZF"),
        new CpuCase("xor eax,eax", a => a.xor(eax, eax)).Given(flags: "CF SF").Expect(eax: 0, flags: "PF ZF"),
        new CpuCase("test al,0x80", a => a.test(al, 0x80)).Given(eax: 0x80).Expect(flags: "SF"),
        new CpuCase("or word [m],cx", a => a.or(__word_ptr[Data], cx)).Given(ecx: 0x8001).Expect(flags: "SF").ExpectMemory(Data, 0x01, 0x80),
        new CpuCase("not byte [m] keeps the flags", a => a.not(__byte_ptr[Data])).Given(flags: "CF ZF").WithMemory(Data, 0x0F).Expect().ExpectMemory(Data, 0xF0),
        new CpuCase("add ah,bh", a => a.add(ah, bh)).Given(eax: 0x0000_F000, ebx: 0x0000_2000).Expect(eax: 0x0000_1000, flags: "CF"),

        // Data movement
        new CpuCase("movsx eax,bl", a => a.movsx(eax, bl)).Given(ebx: 0x80).Expect(eax: 0xFFFF_FF80),
        new CpuCase("movsx ax,byte [m]", a => a.movsx(ax, __byte_ptr[Data])).WithMemory(Data, 0xFE).Expect(eax: 0x1111_FFFE),
        new CpuCase("movzx ecx,word [m]", a => a.movzx(ecx, __word_ptr[Data])).WithMemory(Data, 0xFF, 0xFF).Expect(ecx: 0xFFFF),
        new CpuCase("xchg eax,ecx", a => a.xchg(eax, ecx)).Expect(eax: 0x2222_2222, ecx: 0x1111_1111),
        new CpuCase("xchg [m],dl", a => a.xchg(__byte_ptr[Data], dl)).WithMemory(Data, 0x99).Expect(edx: 0x3333_3399).ExpectMemory(Data, 0x33),
        new CpuCase("cmovz taken", a => a.cmovz(eax, ecx)).Given(flags: "ZF").Expect(eax: 0x2222_2222),
        new CpuCase("cmovnz not taken", a => a.cmovnz(eax, ecx)).Given(flags: "ZF").Expect(),
        new CpuCase("cmovb from a missing page faults even when false", a => a.cmovb(eax, __dword_ptr[Hole])).Faults(14, error: 0, cr2: Hole),
        new CpuCase("setg after SF = OF", a => a.setg(al)).Given(eax: 0, flags: "SF OF").Expect(eax: 1),
        new CpuCase("setbe byte [m]", a => a.setbe(__byte_ptr[Data])).Given(flags: "ZF").Expect().ExpectMemory(Data, 1),
        new CpuCase("setle after ZF", a => a.setle(ch)).Given(flags: "ZF").Expect(ecx: 0x2222_0122),
        new CpuCase("push eax; pop ebx", a => { a.push(eax); a.pop(ebx); }).Expect(ebx: 0x1111_1111),
        new CpuCase("push esp pushes the old ESP", a => { a.push(esp); a.pop(eax); }).Expect(eax: StackTop),
        new CpuCase("pop esp loads the popped value", a => { a.push(0x20_F000); a.pop(esp); }).Expect(esp: 0x20_F000),
        new CpuCase("pop dword [esp] uses the incremented ESP", a => { a.push(7); a.push(9); a.pop(__dword_ptr[esp]); a.pop(eax); }).Expect(eax: 9),
        new CpuCase("pushad then popad skips ESP", a => { a.pushad(); a.mov(esp, StackTop - 32); a.mov(__dword_ptr[esp + 12], 0u); a.popad(); })
            .Expect(),
        new CpuCase("push word and pop word", a => { a.push(cx); a.pop(dx); }).Expect(edx: 0x3333_2222),
        new CpuCase("enter 8,0 then leave", a => { a.enter(8, 0); a.mov(ecx, esp); a.leave(); }).Given(ebp: 0x1234).Expect(ecx: StackTop - 12),
        new CpuCase("enter 4,2 copies a frame pointer", a => { a.mov(ebp, StackTop - 0x40); a.enter(4, 2); })
            .WithMemory32(StackTop - 0x44, 0xABCD).Expect(ebp: StackTop - 4, esp: StackTop - 16),
        new CpuCase("cbw, cwde", a => { a.cbw(); a.mov(ecx, eax); a.mov(al, 0x80); a.cwde(); }).Given(eax: 0x1111_11F0).Expect(eax: 0xFFFF_FF80, ecx: 0x1111_FFF0),
        new CpuCase("cwd, cdq", a => { a.cwd(); a.mov(ecx, edx); a.cdq(); }).Given(eax: 0x8000_8000).Expect(ecx: 0x3333_FFFF, edx: 0xFFFF_FFFF),
        new CpuCase("bswap", a => a.bswap(esi)).Given(esi: 0x1234_5678).Expect(esi: 0x7856_3412),
        new CpuCase("xlatb", a => a.xlatb()).Given(eax: 0x1111_1102, ebx: Data).WithMemory(Data, 10, 11, 12).Expect(eax: 0x1111_110C),
        new CpuCase("lea with 16-bit addressing wraps", a => a.lea(eax, __[bx + si + 5])).Given(ebx: 0xFFFF, esi: 0x10).Expect(eax: 0x14),
        new CpuCase("lea ax", a => a.lea(ax, __[ecx + edx * 2])).Given(ecx: 1, edx: 0x8000_0000).Expect(eax: 0x1111_0001),

        // Flag control and loops
        new CpuCase("sahf loads SF ZF AF PF CF and keeps OF", a => a.sahf()).Given(eax: 0x0000_D700, flags: "OF").Expect(flags: "CF PF AF ZF SF OF"),
        new CpuCase("cmc, stc, clc", a => { a.cmc(); a.setc(bl); a.stc(); a.setc(bh); a.clc(); }).Given(ebx: 0, flags: "CF ZF").Expect(ebx: 0x0100, flags: "ZF"),
        new CpuCase("std, cld", a => { a.std(); a.cld(); a.std(); }).Expect(flags: "DF"),
        new CpuCase("loop decrements ECX and keeps the flags", a =>
        {
            var top = a.CreateLabel();
            a.nop(); // the harness labels the first instruction
            a.Label(ref top);
            a.inc(eax);
            a.loop(top);
        }).Given(eax: 0, ecx: 5, flags: "CF").Expect(eax: 5, ecx: 0, flags: "CF PF"),
        new CpuCase("jecxz with ECX = 0", a =>
        {
            var skip = a.CreateLabel();
            a.jecxz(skip);
            a.mov(eax, 1u);
            a.Label(ref skip);
        }).Given(ecx: 0).Expect(),
    ];

    public static TheoryData<string> Names => CaseRunner.Names(Cases);

    [Theory, MemberData(nameof(Names))]
    public void Executes(string name) => CaseRunner.Run(Cases, name);
}
