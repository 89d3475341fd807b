using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Instructions.CaseImage;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>shl/sal, shr, sar, rol, ror, rcl, rcr, shld, shrd: results and exact flags (undefined ones as QEMU 7.2).</summary>
public class ShiftTests
{
    internal static readonly CpuCase[] Cases =
    [
        // shl / sal: CF is the last bit out, OF = CF xor the result's sign (for every count, as QEMU), AF = 0.
        new CpuCase("shl al,1 carries bit 7 out", a => a.shl(al, 1)).Given(eax: 0x1234_5681).Expect(eax: 0x1234_5602, flags: "CF OF"),
        new CpuCase("shl al,cl with cl=0 changes nothing", a => a.shl(al, cl)).Given(eax: 0x81, ecx: 0, flags: "CF AF ZF").Expect(),
        new CpuCase("shl eax,31", a => a.shl(eax, 31)).Given(eax: 3).Expect(eax: 0x8000_0000, flags: "CF PF SF"),
        new CpuCase("shl eax,cl with cl=32 is masked to 0", a => a.shl(eax, cl)).Given(eax: 0x8000_0001, ecx: 32, flags: "OF").Expect(),
        new CpuCase("shl eax,cl with cl=33 is masked to 1", a => a.shl(eax, cl)).Given(eax: 0x8000_0001, ecx: 33).Expect(eax: 2, flags: "CF OF"),
        new CpuCase("shl al,8 shifts everything out", a => a.shl(al, 8)).Given(eax: 0xFF).Expect(eax: 0, flags: "CF PF ZF OF"),
        new CpuCase("shl al,9 leaves CF clear as QEMU", a => a.shl(al, 9)).Given(eax: 0xFF).Expect(eax: 0, flags: "PF ZF"),
        new CpuCase("shl ax,4", a => a.shl(ax, 4)).Given(eax: 0xAAAA_8421, flags: "CF").Expect(eax: 0xAAAA_4210, flags: ""),
        new CpuCase("shl dword [m],cl", a => a.shl(__dword_ptr[Data], cl)).Given(ecx: 2).WithMemory32(Data, 0x4000_0000)
            .Expect(flags: "CF PF ZF OF").ExpectMemory32(Data, 0),
        new CpuCase("sal al,1 (D0 /6)", a => a.db(0xD0, 0xF0)).Given(eax: 0x40).Expect(eax: 0x80, flags: "SF OF"),
        new CpuCase("shl word [m],1 with a 16-bit sign change", a => a.shl(__word_ptr[Data], 1)).WithMemory(Data, 0x00, 0x40)
            .Expect(flags: "PF SF OF").ExpectMemory(Data, 0x00, 0x80),
        new CpuCase("shl dword [read-only],cl=0 still writes (#PF)", a => a.shl(__dword_ptr[ReadOnly], cl)).Given(ecx: 0)
            .Faults(14, error: 3, cr2: ReadOnly),

        // shr: OF is the original sign for a count of 1, 0 otherwise.
        new CpuCase("shr al,1 sets OF from the old sign", a => a.shr(al, 1)).Given(eax: 0x1111_1181).Expect(eax: 0x1111_1140, flags: "CF OF"),
        new CpuCase("shr eax,4", a => a.shr(eax, 4)).Given(eax: 0x8000_0018).Expect(eax: 0x0800_0001, flags: "CF"),
        new CpuCase("shr ax,cl with cl=17", a => a.shr(ax, cl)).Given(eax: 0x1234_8000, ecx: 17).Expect(eax: 0x1234_0000, flags: "PF ZF"),
        new CpuCase("shr ax,16", a => a.shr(ax, 16)).Given(eax: 0x1234_8000).Expect(eax: 0x1234_0000, flags: "CF PF ZF"),
        new CpuCase("shr byte [m],1", a => a.shr(__byte_ptr[Data], 1)).WithMemory(Data, 0x01).Expect(flags: "CF PF ZF").ExpectMemory(Data, 0x00),
        new CpuCase("shr bh,3", a => a.shr(bh, 3)).Given(ebx: 0x4444_F044).Expect(ebx: 0x4444_1E44, flags: "PF"),

        // sar
        new CpuCase("sar al,1 keeps the sign", a => a.sar(al, 1)).Given(eax: 0x81).Expect(eax: 0xC0, flags: "CF PF SF"),
        new CpuCase("sar eax,31", a => a.sar(eax, 31)).Given(eax: 0x8000_0000).Expect(eax: 0xFFFF_FFFF, flags: "PF SF"),
        new CpuCase("sar al,cl with cl=8", a => a.sar(al, cl)).Given(eax: 0x80, ecx: 8).Expect(eax: 0xFF, flags: "CF PF SF"),
        new CpuCase("sar ax,20 of a positive value", a => a.sar(ax, 20)).Given(eax: 0x7FFF, flags: "CF SF").Expect(eax: 0, flags: "PF ZF"),
        new CpuCase("sar dword [m],cl with cl=0", a => a.sar(__dword_ptr[Data], cl)).Given(ecx: 0, flags: "SF").WithMemory32(Data, 0x8000_0000)
            .Expect().ExpectMemory32(Data, 0x8000_0000),

        // rol / ror: only CF and OF change; a masked count that is a multiple of the width still sets them.
        new CpuCase("rol al,1", a => a.rol(al, 1)).Given(eax: 0x81, flags: "ZF").Expect(eax: 0x03, flags: "CF ZF OF"),
        new CpuCase("rol eax,4", a => a.rol(eax, 4)).Given(eax: 0x1234_5678).Expect(eax: 0x2345_6781, flags: "CF OF"),
        new CpuCase("rol al,8 sets CF and OF on an unchanged value", a => a.rol(al, 8)).Given(eax: 0x81, flags: "OF").Expect(flags: "CF"),
        new CpuCase("rol ax,cl with cl=0 changes nothing", a => a.rol(ax, cl)).Given(eax: 0x8001, ecx: 0, flags: "CF OF").Expect(),
        new CpuCase("rol word [m],17", a => a.rol(__word_ptr[Data], 17)).WithMemory(Data, 0x01, 0x80).Expect(flags: "CF OF").ExpectMemory(Data, 0x03, 0x00),
        new CpuCase("ror al,1", a => a.ror(al, 1)).Given(eax: 0x01).Expect(eax: 0x80, flags: "CF OF"),
        new CpuCase("ror eax,8", a => a.ror(eax, 8)).Given(eax: 0x1234_5678, flags: "PF").Expect(eax: 0x7812_3456, flags: "PF OF"),
        new CpuCase("ror al,cl with cl=16", a => a.ror(al, cl)).Given(eax: 0x40, ecx: 16, flags: "CF").Expect(flags: "OF"),
        new CpuCase("ror ah,3", a => a.ror(ah, 3)).Given(eax: 0x0000_0500).Expect(eax: 0x0000_A000, flags: "CF OF"),

        // rcl / rcr: rotate through CF; 8- and 16-bit counts are taken modulo 9 and 17.
        new CpuCase("rcl al,1 with CF set", a => a.rcl(al, 1)).Given(eax: 0x80, flags: "CF").Expect(eax: 0x01, flags: "CF OF"),
        new CpuCase("rcl al,9 is a full turn", a => a.rcl(al, 9)).Given(eax: 0x80, flags: "CF SF").Expect(),
        new CpuCase("rcl al,10 is rcl 1", a => a.rcl(al, 10)).Given(eax: 0x80).Expect(eax: 0, flags: "CF OF"),
        new CpuCase("rcl ax,cl with cl=17 is a full turn", a => a.rcl(ax, cl)).Given(eax: 0x8001, ecx: 17, flags: "CF").Expect(),
        new CpuCase("rcl eax,31", a => a.rcl(eax, 31)).Given(eax: 1, flags: "CF").Expect(eax: 0xC000_0000, flags: "OF"),
        new CpuCase("rcr al,1 with CF set", a => a.rcr(al, 1)).Given(eax: 0x01, flags: "CF").Expect(eax: 0x80, flags: "CF OF"),
        new CpuCase("rcr ax,16", a => a.rcr(ax, 16)).Given(eax: 0x8001).Expect(eax: 0x0002, flags: "CF OF"),
        new CpuCase("rcr dword [m],cl", a => a.rcr(__dword_ptr[Data], cl)).Given(ecx: 1, flags: "PF").WithMemory32(Data, 2)
            .Expect(flags: "PF").ExpectMemory32(Data, 1),
        new CpuCase("rcr eax,cl with cl=32 (masked to 0)", a => a.rcr(eax, cl)).Given(eax: 3, ecx: 32, flags: "CF").Expect(),

        // shld / shrd
        new CpuCase("shld eax,edx,4", a => a.shld(eax, edx, 4)).Given(eax: 0x1234_5678, edx: 0x9ABC_DEF0).Expect(eax: 0x2345_6789, flags: "CF OF"),
        new CpuCase("shld eax,edx,cl with cl=0", a => a.shld(eax, edx, cl)).Given(eax: 0x1234_5678, edx: 0x9ABC_DEF0, ecx: 0, flags: "ZF").Expect(),
        new CpuCase("shrd eax,edx,4", a => a.shrd(eax, edx, 4)).Given(eax: 0x1234_5678, edx: 0x9ABC_DEF0).Expect(eax: 0x0123_4567, flags: "CF"),
        new CpuCase("shrd ax,dx,20 (count above 16)", a => a.shrd(ax, dx, 20)).Given(eax: 0x1111_1234, edx: 0x3333_5678).Expect(eax: 0x1111_4567, flags: "CF"),
        new CpuCase("shld ax,dx,20 (count above 16)", a => a.shld(ax, dx, 20)).Given(eax: 0x1111_1234, edx: 0x3333_5678).Expect(eax: 0x1111_6781, flags: "CF PF OF"),
        new CpuCase("shld ax,dx,1", a => a.shld(ax, dx, 1)).Given(eax: 0x8000, edx: 0x8000).Expect(eax: 0x0001, flags: "CF OF"),
        new CpuCase("shld dword [m],ecx,1", a => a.shld(__dword_ptr[Data], ecx, 1)).Given(ecx: 0xFFFF_FFFF).WithMemory32(Data, 0x8000_0000)
            .Expect(flags: "CF OF").ExpectMemory32(Data, 1),
        new CpuCase("shrd dword [m],ecx,cl", a => a.shrd(__dword_ptr[Data], ecx, cl)).Given(ecx: 8).WithMemory32(Data, 0x1234_5678)
            .Expect(flags: "PF").ExpectMemory32(Data, 0x0812_3456),
        new CpuCase("shrd word [m],cx,cl with cl=16", a => a.shrd(__word_ptr[Data], cx, cl)).Given(ecx: 0xA5A5_0010).WithMemory(Data, 0x34, 0x12)
            .Expect(flags: "").ExpectMemory(Data, 0x10, 0x00),
    ];

    public static TheoryData<string> Names => CaseRunner.Names(Cases);

    [Theory, MemberData(nameof(Names))]
    public void Executes(string name) => CaseRunner.Run(Cases, name);
}
