using Iced.Intel;
using VirtBench.Machine.Cpu;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>
/// One instruction test: the registers, flags and memory it starts from, the code under test, and everything
/// that must hold afterwards. Registers not given start as canaries (EAX = 0x11111111 ... EDI = 0x88888888,
/// ESP = <see cref="CaseImage.StackTop"/>); registers, flags and memory not expected to change must not change.
/// Cases run alone on the machine (<see cref="CaseRunner.Run"/>) and all together in QEMU.
/// </summary>
internal sealed class CpuCase(string name, Action<Assembler> code)
{
    /// <summary>The arithmetic flags and DF: what a case's flag expectations cover.</summary>
    public const uint ComparedFlags = (uint)(FlagBits.Arithmetic | FlagBits.DF);

    public string Name { get; } = name;
    public Action<Assembler> Code { get; } = code;
    public uint[] Initial { get; } = [0x1111_1111, 0x2222_2222, 0x3333_3333, 0x4444_4444, CaseImage.StackTop, 0x6666_6666, 0x7777_7777, 0x8888_8888];
    public uint InitialFlags { get; private set; }
    public uint?[] Expected { get; } = new uint?[8];
    public uint? ExpectedFlags { get; private set; }
    public List<(uint Address, byte[] Bytes)> Memory { get; } = [];
    public (uint Address, byte[] Bytes)? ExpectedMemory { get; private set; }
    public int? FaultVector { get; private set; }
    public uint? FaultError { get; private set; }
    /// <summary>Offset from the start of the code under test of the instruction that faults.</summary>
    public int FaultOffset { get; private set; }
    public uint? ExpectedCr2 { get; private set; }
    /// <summary>Page faults taken and repaired (the Hole page mapped, the ReadOnly page made writable) before the code finished.</summary>
    public int? RepairedPageFaults { get; private set; }
    /// <summary>Why QEMU cannot be the oracle for this case (it then runs on this machine only), or null.</summary>
    public string? MachineOnly { get; private set; }

    public uint ExpectedRegister(int r) => Expected[r] ?? Initial[r];

    public CpuCase Given(uint? eax = null, uint? ecx = null, uint? edx = null, uint? ebx = null, uint? ebp = null,
        uint? esi = null, uint? edi = null, string flags = "")
    {
        Set(Initial, eax, ecx, edx, ebx, ebp, esi, edi);
        InitialFlags = ParseFlags(flags);
        return this;
    }

    /// <summary>What must hold afterwards; <paramref name="flags"/> null means "unchanged".</summary>
    public CpuCase Expect(uint? eax = null, uint? ecx = null, uint? edx = null, uint? ebx = null, uint? ebp = null,
        uint? esi = null, uint? edi = null, string? flags = null, uint? esp = null)
    {
        uint?[] values = [eax, ecx, edx, ebx, esp, ebp, esi, edi];
        for (int r = 0; r < 8; r++) if (values[r] is { } v) Expected[r] = v;
        if (flags is not null) ExpectedFlags = ParseFlags(flags);
        return this;
    }

    public CpuCase WithMemory(uint address, params byte[] bytes) { Memory.Add((address, bytes)); return this; }

    public CpuCase WithMemory32(uint address, params uint[] dwords) => WithMemory(address, Dwords(dwords));

    public CpuCase ExpectMemory(uint address, params byte[] bytes) { ExpectedMemory = (address, bytes); return this; }

    public CpuCase ExpectMemory32(uint address, params uint[] dwords) => ExpectMemory(address, Dwords(dwords));

    /// <summary>The code faults with this vector (and error code) at the instruction <paramref name="offset"/> bytes in.</summary>
    public CpuCase Faults(int vector, uint? error = null, int offset = 0, uint? cr2 = null)
    {
        FaultVector = vector; FaultError = error; FaultOffset = offset; ExpectedCr2 = cr2;
        return this;
    }

    /// <summary>Page faults on the Hole and ReadOnly pages are repaired and the faulting instruction restarted.</summary>
    public CpuCase RepairsPageFaults(int count, uint? lastCr2 = null)
    {
        RepairedPageFaults = count; ExpectedCr2 = lastCr2;
        return this;
    }

    public CpuCase OnlyOnThisMachine(string reason) { MachineOnly = reason; return this; }

    public override string ToString() => Name;

    private static void Set(uint[] target, uint? eax, uint? ecx, uint? edx, uint? ebx, uint? ebp, uint? esi, uint? edi)
    {
        uint?[] values = [eax, ecx, edx, ebx, null, ebp, esi, edi];
        for (int r = 0; r < 8; r++) if (values[r] is { } v) target[r] = v;
    }

    private static byte[] Dwords(uint[] dwords) => dwords.SelectMany(BitConverter.GetBytes).ToArray();

    /// <summary>"CF ZF" style flag lists (CF PF AF ZF SF OF DF) to EFLAGS bits.</summary>
    public static uint ParseFlags(string flags)
    {
        uint bits = 0;
        foreach (var name in flags.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            bits |= name switch
            {
                "CF" => (uint)FlagBits.CF, "PF" => (uint)FlagBits.PF, "AF" => (uint)FlagBits.AF, "ZF" => (uint)FlagBits.ZF,
                "SF" => (uint)FlagBits.SF, "OF" => (uint)FlagBits.OF, "DF" => (uint)FlagBits.DF,
                _ => throw new ArgumentException($"unknown flag '{name}' in \"{flags}\": use CF PF AF ZF SF OF DF"),
            };
        return bits;
    }

    public static string FormatFlags(uint bits)
    {
        var names = new List<string>();
        foreach (var (name, bit) in new[] { ("CF", FlagBits.CF), ("PF", FlagBits.PF), ("AF", FlagBits.AF), ("ZF", FlagBits.ZF), ("SF", FlagBits.SF), ("OF", FlagBits.OF), ("DF", FlagBits.DF) })
            if ((bits & (uint)bit) != 0) names.Add(name);
        return names.Count == 0 ? "(none)" : string.Join(' ', names);
    }
}
