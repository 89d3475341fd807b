using VirtBench.Machine.Monitor;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Instructions.CaseImage;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>
/// movs, cmps, stos, lods, scas, ins, outs: element sizes, DF, segment overrides, 16-bit addresses, rep/repe/repne,
/// ECX = 0, bulk runs, overlapping copies, and faults part-way through a rep that leave a restartable state.
/// </summary>
public class StringTests
{
    private const uint Src = Data, Dst = Data + 0x100;
    private const ushort UnclaimedPort = 0x2F0;

    private static byte[] Pattern(int length, int seed = 1) => Enumerable.Range(0, length).Select(n => (byte)(n * 7 + seed)).ToArray();
    private static byte[] Repeat(byte value, int count) => Enumerable.Repeat(value, count).ToArray();
    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
    private static byte[] Text(string s) => System.Text.Encoding.ASCII.GetBytes(s);

    internal static readonly CpuCase[] Cases =
    [
        // movs
        new CpuCase("movsb", a => a.movsb()).Given(esi: Src, edi: Dst).WithMemory(Src, 0xAB)
            .Expect(esi: Src + 1, edi: Dst + 1).ExpectMemory(Dst, 0xAB, 0x00),
        new CpuCase("movsd with DF set goes down", a => a.movsd()).Given(esi: Src + 4, edi: Dst + 4, flags: "DF").WithMemory32(Src, 1, 2)
            .Expect(esi: Src, edi: Dst).ExpectMemory32(Dst, 0, 2, 0),
        new CpuCase("movsw with an FS source override", a => a.db(0x64, 0x66, 0xA5)).Given(esi: 0x10, edi: Dst).WithMemory(Src + 0x10, 0x34, 0x12)
            .Expect(esi: 0x12, edi: Dst + 2).ExpectMemory(Dst, 0x34, 0x12, 0x00),
        new CpuCase("rep movsb", a => a.rep.movsb()).Given(esi: Src, edi: Dst, ecx: 5).WithMemory(Src, Pattern(8))
            .Expect(esi: Src + 5, edi: Dst + 5, ecx: 0).ExpectMemory(Dst, Concat(Pattern(5), [0, 0])),
        new CpuCase("rep movsd of 100 dwords", a => a.rep.movsd()).Given(esi: Src, edi: Dst, ecx: 100).WithMemory(Src, Pattern(400))
            .Expect(esi: Src + 400, edi: Dst + 400, ecx: 0).ExpectMemory(Dst, Concat(Pattern(400), [0])),
        new CpuCase("rep movsw with DF set", a => a.rep.movsw()).Given(esi: Src + 6, edi: Dst + 6, ecx: 4, flags: "DF").WithMemory(Src, Pattern(8))
            .Expect(esi: Src - 2, edi: Dst - 2, ecx: 0).ExpectMemory(Dst - 2, Concat([0, 0], Pattern(8), [0, 0])),
        new CpuCase("rep movsb onto the next byte replicates it", a => a.rep.movsb()).Given(esi: Src, edi: Src + 1, ecx: 8).WithMemory(Src, 0x5A)
            .Expect(esi: Src + 8, edi: Src + 9, ecx: 0).ExpectMemory(Src, Concat(Repeat(0x5A, 9), [0])),
        new CpuCase("rep movsd down onto the previous dword replicates it", a => a.rep.movsd()).Given(esi: Src + 16, edi: Src + 12, ecx: 4, flags: "DF")
            .WithMemory32(Src, 1, 2, 3, 4, 5).Expect(esi: Src, edi: Src - 4, ecx: 0).ExpectMemory32(Src, 5, 5, 5, 5, 5),
        new CpuCase("rep movsd down with the destination above copies like memmove", a => a.rep.movsd()).Given(esi: Src + 12, edi: Src + 16, ecx: 4, flags: "DF")
            .WithMemory32(Src, 1, 2, 3, 4).Expect(esi: Src - 4, edi: Src, ecx: 0).ExpectMemory32(Src, 1, 1, 2, 3, 4),
        new CpuCase("rep movsb with ECX = 0 does nothing", a => a.rep.movsb()).Given(esi: Src, edi: Dst, ecx: 0, flags: "CF ZF").WithMemory(Src, 1)
            .Expect().ExpectMemory(Dst, 0),
        new CpuCase("rep movsb with 16-bit addresses keeps the upper halves", a => a.db(0x67, 0xF3, 0xA4))
            .Given(esi: 0x1234_8000, edi: 0x5678_8100, ecx: 0x9ABC_0003).WithMemory(0x8000, 7, 8, 9)
            .Expect(esi: 0x1234_8003, edi: 0x5678_8103, ecx: 0x9ABC_0000).ExpectMemory(0x8100, 7, 8, 9, 0),
        new CpuCase("movsb with 16-bit addresses wraps SI", a => { a.db(0x67, 0xA4); a.db(0x67, 0xA4); })
            .Given(esi: 0xFFFF, edi: 0x8200).WithMemory(0xFFFF, 0x11).WithMemory(0, 0x22)
            .Expect(esi: 1, edi: 0x8202).ExpectMemory(0x8200, 0x11, 0x22),
        new CpuCase("rep movsb across a page boundary", a => a.rep.movsb()).Given(esi: Src, edi: Data + 0xFFE, ecx: 6).WithMemory(Src, Pattern(6))
            .Expect(esi: Src + 6, edi: Data + 0x1004, ecx: 0).ExpectMemory(Data + 0xFFE, Concat(Pattern(6), [0])),
        new CpuCase("rep movsd between pages 1 MiB apart (the same fast-TLB slot)", a =>
        {
            a.rep.stosd();
            a.mov(esi, Src);
            a.mov(edi, Data + 0x10_0000);
            a.mov(ecx, 2048u);
            a.rep.movsd();
        }).Given(eax: 0x5A5A_A5A5, edi: Src, ecx: 2048)
            .Expect(esi: Src + 8192, edi: Data + 0x10_0000 + 8192, ecx: 0).ExpectMemory32(Data + 0x10_0000 + 8188, 0x5A5A_A5A5, 0),
        new CpuCase("rep movsb of 10000 overlapping bytes (several slices)", a => a.rep.movsb()).Given(esi: Src, edi: Src + 1, ecx: 10000).WithMemory(Src, 0xC3)
            .Expect(esi: Src + 10000, edi: Src + 10001, ecx: 0).ExpectMemory(Src + 9998, 0xC3, 0xC3, 0xC3, 0x00),

        // stos
        new CpuCase("stosb", a => a.stosb()).Given(eax: 0x77, edi: Dst).Expect(edi: Dst + 1).ExpectMemory(Dst, 0x77, 0),
        new CpuCase("rep stosd over a page (one run)", a => a.rep.stosd()).Given(eax: 0xDEAD_BEEF, edi: Data, ecx: 1024)
            .Expect(edi: Data + 4096, ecx: 0).ExpectMemory32(Data + 4088, 0xDEAD_BEEF, 0xDEAD_BEEF, 0),
        new CpuCase("rep stosb with DF set", a => a.rep.stosb()).Given(eax: 0x77, edi: Data + 9, ecx: 10, flags: "DF")
            .Expect(edi: Data - 1, ecx: 0).ExpectMemory(Data, Concat(Repeat(0x77, 10), [0])),
        new CpuCase("rep stosw with a word across a page boundary", a => a.rep.stosw()).Given(eax: 0x1234, edi: Data + 0xFFD, ecx: 3)
            .Expect(edi: Data + 0x1003, ecx: 0).ExpectMemory(Data + 0xFFC, 0, 0x34, 0x12, 0x34, 0x12, 0x34, 0x12, 0),
        new CpuCase("rep stosd of 5000 dwords (several slices)", a => a.rep.stosd()).Given(eax: 0xA5A5_5A5A, edi: Data, ecx: 5000)
            .Expect(edi: Data + 20000, ecx: 0).ExpectMemory32(Data + 19996, 0xA5A5_5A5A, 0),
        new CpuCase("repne stosb acts as rep", a => a.repne.stosb()).Given(eax: 1, edi: Data, ecx: 3, flags: "ZF").Expect(edi: Data + 3, ecx: 0).ExpectMemory(Data, 1, 1, 1, 0),

        // lods
        new CpuCase("lodsb", a => a.lodsb()).Given(esi: Src).WithMemory(Src, 0x99).Expect(eax: 0x1111_1199, esi: Src + 1),
        new CpuCase("lodsd with DF set", a => a.lodsd()).Given(esi: Src + 4, flags: "DF").WithMemory32(Src, 1, 2).Expect(eax: 2, esi: Src),
        new CpuCase("rep lodsw leaves the last element", a => a.rep.lodsw()).Given(esi: Src, ecx: 3).WithMemory(Src, 1, 0, 2, 0, 3, 0)
            .Expect(eax: 0x1111_0003, esi: Src + 6, ecx: 0),
        new CpuCase("lodsb with a GS override", a => a.db(0x65, 0xAC)).Given(esi: Src + 1).WithMemory(Src, 5, 6).Expect(eax: 0x1111_1106, esi: Src + 2),

        // scas
        new CpuCase("repne scasb finds a byte", a => a.repne.scasb()).Given(eax: 'c', edi: Data, ecx: 10).WithMemory(Data, Text("abcd"))
            .Expect(edi: Data + 3, ecx: 7, flags: "PF ZF"),
        new CpuCase("repne scasb runs out", a => a.repne.scasb()).Given(eax: 'x', edi: Data, ecx: 4).WithMemory(Data, Text("abcd"))
            .Expect(edi: Data + 4, ecx: 0, flags: "PF"),
        new CpuCase("repe scasd stops at the first difference", a => a.repe.scasd()).Given(eax: 7, edi: Data, ecx: 5).WithMemory32(Data, 7, 7, 9)
            .Expect(edi: Data + 12, ecx: 2, flags: "CF AF SF"),
        new CpuCase("scasw with DF set", a => a.scasw()).Given(eax: 0x1111_BEEF, edi: Data + 2, flags: "DF").WithMemory(Data, 0, 0, 0xEF, 0xBE)
            .Expect(edi: Data, flags: "PF ZF DF"),
        new CpuCase("repe scasb with ECX = 0 keeps the flags", a => a.repe.scasb()).Given(eax: 0, edi: Data, ecx: 0, flags: "CF OF").Expect(),

        // cmps
        new CpuCase("repe cmpsb stops at the first difference", a => a.repe.cmpsb()).Given(esi: Src, edi: Dst, ecx: 5).WithMemory(Src, Text("hello")).WithMemory(Dst, Text("help!"))
            .Expect(esi: Src + 4, edi: Dst + 4, ecx: 1, flags: "CF PF SF"),
        new CpuCase("repe cmpsd equal to the end", a => a.repe.cmpsd()).Given(esi: Src, edi: Dst, ecx: 2).WithMemory32(Src, 5, 6).WithMemory32(Dst, 5, 6)
            .Expect(esi: Src + 8, edi: Dst + 8, ecx: 0, flags: "PF ZF"),
        new CpuCase("repne cmpsw stops at equality", a => a.repne.cmpsw()).Given(esi: Src, edi: Dst, ecx: 3).WithMemory(Src, 1, 0, 2, 0, 3, 0).WithMemory(Dst, 9, 0, 2, 0, 3, 0)
            .Expect(esi: Src + 4, edi: Dst + 4, ecx: 1, flags: "PF ZF"),
        new CpuCase("cmpsb compares [esi] with [edi]", a => a.cmpsb()).Given(esi: Src, edi: Dst).WithMemory(Src, 1).WithMemory(Dst, 2)
            .Expect(esi: Src + 1, edi: Dst + 1, flags: "CF PF AF SF"),
        new CpuCase("cmpsb with an FS override and 16-bit addresses", a => a.db(0x64, 0x67, 0xA6)).Given(esi: 0xAAAA_0004, edi: 0x8000)
            .WithMemory(Src + 4, 3).WithMemory(0x8000, 3).Expect(esi: 0xAAAA_0005, edi: 0x8001, flags: "PF ZF"),

        // ins / outs (a port no device claims reads as all ones)
        new CpuCase("insb from an unclaimed port", a => a.insb()).Given(edx: UnclaimedPort, edi: Dst).Expect(edi: Dst + 1).ExpectMemory(Dst, 0xFF, 0),
        new CpuCase("rep insw", a => a.rep.insw()).Given(edx: UnclaimedPort, edi: Dst, ecx: 2).Expect(edi: Dst + 4, ecx: 0).ExpectMemory(Dst, 0xFF, 0xFF, 0xFF, 0xFF, 0),
        new CpuCase("rep outsd to an unclaimed port with DF set", a => a.rep.outsd()).Given(edx: UnclaimedPort, esi: Src + 8, ecx: 3, flags: "DF")
            .Expect(esi: Src - 4, ecx: 0),
        new CpuCase("insd into the read-only page faults before reading", a => a.insd()).Given(edx: UnclaimedPort, edi: ReadOnly + 8)
            .Faults(14, error: 3, cr2: ReadOnly + 8),

        // Faults part-way through a rep: the state shows the elements done, and the instruction restarts.
        new CpuCase("rep stosb stops at a missing page", a => a.rep.stosb()).Given(eax: 0x5A, edi: Hole - 3, ecx: 10)
            .Faults(14, error: 2, cr2: Hole).Expect(edi: Hole, ecx: 7).ExpectMemory(Hole - 4, 0, 0x5A, 0x5A, 0x5A),
        new CpuCase("rep movsb stops at a missing source page", a => a.rep.movsb()).Given(esi: Hole - 2, edi: Dst, ecx: 4).WithMemory(Hole - 2, 1, 2, 3, 4)
            .Faults(14, error: 0, cr2: Hole).Expect(esi: Hole, edi: Dst + 2, ecx: 2).ExpectMemory(Dst, 1, 2, 0),
        new CpuCase("rep stosd stops at the read-only page", a => a.rep.stosd()).Given(eax: 9, edi: ReadOnly - 8, ecx: 4)
            .Faults(14, error: 3, cr2: ReadOnly).Expect(edi: ReadOnly, ecx: 2).ExpectMemory32(ReadOnly - 8, 9, 9),
        new CpuCase("rep lodsd stops at a missing page after a word-crossing element", a => a.rep.lodsd()).Given(esi: Hole - 6, ecx: 3)
            .WithMemory32(Hole - 8, 0x1234_5678, 0).Faults(14, error: 0, cr2: Hole).Expect(eax: 0x0000_1234, esi: Hole - 2, ecx: 2),
        new CpuCase("rep movsd into a missing page restarts and completes", a => a.rep.movsd()).Given(esi: Src, edi: Hole - 8, ecx: 4).WithMemory32(Src, 1, 2, 3, 4)
            .RepairsPageFaults(1, Hole).Expect(esi: Src + 16, edi: Hole + 8, ecx: 0).ExpectMemory32(Hole - 8, 1, 2, 3, 4),
        new CpuCase("repe cmpsb through a missing page restarts and completes", a => a.repe.cmpsb()).Given(esi: Hole - 2, edi: Dst, ecx: 4)
            .WithMemory(Hole - 2, Text("abcd")).WithMemory(Dst, Text("abcX")).RepairsPageFaults(1, Hole)
            .Expect(esi: Hole + 2, edi: Dst + 4, ecx: 0, flags: "PF AF"),
        new CpuCase("rep lodsb through the FS limit is #GP part-way", a => a.db(0x64, 0xF3, 0xAC)).Given(esi: 0xFFFE, ecx: 4)
            .Faults(13, error: 0).Expect(eax: 0x1111_1100, esi: 0x1_0000, ecx: 2)
            .OnlyOnThisMachine("QEMU's TCG does not check data segment limits"),
    ];

    public static TheoryData<string> Names => CaseRunner.Names(Cases);

    [Theory, MemberData(nameof(Names))]
    public void Executes(string name) => CaseRunner.Run(Cases, name);
}
