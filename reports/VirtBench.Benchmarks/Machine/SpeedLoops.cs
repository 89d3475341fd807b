using Iced.Intel;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Benchmarks.Machine;

/// <summary>
/// The guest programs of the machine's speed benchmarks, as multiboot images that also boot in QEMU
/// (so the same image measures both): (a) a dec/jnz loop, (b) a mixed integer loop with loads, stores,
/// calls and returns. Each exits through isa-debug-exit when done.
/// </summary>
public static class SpeedLoops
{
    /// <summary>The name of the dec/jnz loop's image (in reports and in <c>virtbench peers</c>).</summary>
    public const string DecJnzName = "loop-decjnz";

    /// <summary>The name of the mixed loop's image.</summary>
    public const string MixedName = "loop-mixed";

    /// <summary>Both loops, with the iteration counts <see cref="MachineSpeed"/> runs them at.</summary>
    public static IReadOnlyList<SpeedLoop> All { get; } =
    [
        new(DecJnzName, MachineSpeed.DecJnzIterations, DecJnz),
        new(MixedName, MachineSpeed.MixedIterations, Mixed),
    ];

    /// <summary>Guest instructions per iteration of <see cref="DecJnz"/>.</summary>
    public const int DecJnzInstructionsPerIteration = 2;

    /// <summary>Guest instructions per iteration of <see cref="Mixed"/>.</summary>
    public const int MixedInstructionsPerIteration = 12;

    /// <summary>dec ecx / jnz, <paramref name="iterations"/> times.</summary>
    public static GuestImage DecJnz(uint iterations) => Build(DecJnzName, a =>
    {
        a.mov(ecx, iterations);
        var loop = a.CreateLabel();
        a.Label(ref loop);
        a.dec(ecx);
        a.jnz(loop);
    });

    /// <summary>A loop of loads, stores, ALU work and a call/ret pair, <paramref name="iterations"/> times.</summary>
    public static GuestImage Mixed(uint iterations) => Build(MixedName, a =>
    {
        var loop = a.CreateLabel();
        var function = a.CreateLabel();
        var done = a.CreateLabel();
        a.mov(esp, 0x0020_0000u);
        a.mov(esi, 0x0030_0000u);
        a.mov(edi, 0x0030_1000u);
        a.mov(ebx, 0x1234_5678u);
        a.mov(ecx, iterations);
        a.Label(ref loop);
        a.mov(eax, __dword_ptr[esi]);         // 1 load
        a.add(eax, ebx);                      // 2
        a.mov(__dword_ptr[edi], eax);         // 3 store
        a.call(function);                     // 4 (+3 in the function: lea, and, ret)
        a.xor(ebx, eax);                      // 8
        a.mov(__dword_ptr[esi + 4], ebx);     // 9 store
        a.add(esi, 0);                        // 10
        a.dec(ecx);                           // 11
        a.jnz(loop);                          // 12
        a.jmp(done);
        a.Label(ref function);
        a.lea(edx, __[eax + ecx * 4]);
        a.and(edx, 0xFF);
        a.ret();
        a.Label(ref done);
    });

    private static GuestImage Build(string name, Action<Assembler> body)
    {
        var a = new Assembler(32);
        body(a);
        a.mov(eax, 0u);
        a.@out((byte)Platform.DebugExitPort, eax);
        a.hlt();
        uint codeBase = Platform.KernelLoadAddress + Multiboot.HeaderSize;
        var writer = new ByteWriter();
        a.Assemble(writer, codeBase);
        return new GuestImage(Multiboot.CreateImage(writer.Bytes.ToArray(), codeBase), name);
    }

    private sealed class ByteWriter : CodeWriter
    {
        public readonly List<byte> Bytes = [];
        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}

/// <summary>A speed loop: its name, the iterations of its benchmark, and its image for an iteration count.</summary>
/// <param name="Name">The loop's name.</param>
/// <param name="BenchIterations">The iterations <see cref="MachineSpeed"/> runs.</param>
/// <param name="Build">The multiboot image for an iteration count.</param>
public sealed record SpeedLoop(string Name, uint BenchIterations, Func<uint, GuestImage> Build);
