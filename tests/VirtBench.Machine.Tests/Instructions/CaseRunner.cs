using System.Globalization;
using VirtBench.Machine.Cpu;

namespace VirtBench.Machine.Tests.Instructions;

/// <summary>Runs <see cref="CpuCase"/>s and checks every register, the flags, faults and memory they expect.</summary>
internal static class CaseRunner
{
    private static readonly string[] RegisterNames = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"];

    /// <summary>The case names of a family, as theory data (names are unique within a family).</summary>
    public static TheoryData<string> Names(IEnumerable<CpuCase> cases)
    {
        var data = new TheoryData<string>();
        foreach (var c in cases) data.Add(c.Name);
        return data;
    }

    /// <summary>Runs the named case alone on this machine and fails with every difference from its expectations.</summary>
    public static void Run(IEnumerable<CpuCase> family, string name)
    {
        var c = family.Single(x => x.Name == name);
        var built = CaseImage.Build([c]);
        var dumps = RunOnMachine(built.Image);
        Assert.True(dumps.Count == 1, $"expected one case dump, got {dumps.Count}");
        var problems = Compare(c, dumps[0], built.CodeStarts[0]);
        Assert.True(problems.Count == 0, $"{c.Name}:\n  " + string.Join("\n  ", problems));
    }

    /// <summary>Runs a case image on this machine and returns its dumps.</summary>
    public static IReadOnlyList<CaseDump> RunOnMachine(GuestImage image)
    {
        var pc = new Pc(image, new MachineOptions { RamBytes = 4u << 20, InstructionBudget = 5_000_000 });
        var outcome = pc.Run();
        string output = pc.Uart.Output;
        Assert.True(outcome.Kind == OutcomeKind.DebugExit && outcome.ExitStatus == 1,
            $"the case image did not exit cleanly: {outcome.Kind} {outcome.ExitStatus}: {outcome.Message}\nUART: {output[..Math.Min(output.Length, 2000)]}");
        return Parse(pc.Uart.Output);
    }

    /// <summary>Parses the "#index values... memory" lines a case image prints.</summary>
    public static IReadOnlyList<CaseDump> Parse(string output)
    {
        var dumps = new List<CaseDump>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith('#')) continue;
            var parts = line[1..].Split(' ');
            uint Hex(string s) => uint.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var values = parts.Skip(1).Take(14).Select(Hex).ToArray();
            var memory = Convert.FromHexString(parts.Length > 15 ? parts[15] : "");
            dumps.Add(new CaseDump((int)Hex(parts[0]), values, memory));
        }
        return dumps;
    }

    /// <summary>Every way a dump differs from the case's expectations (empty when it matches).</summary>
    public static List<string> Compare(CpuCase c, CaseDump d, uint codeStart)
    {
        var problems = new List<string>();
        uint vector = d.Values[9];
        if (c.FaultVector is int expected)
        {
            if (vector != (uint)expected) problems.Add($"expected {Vectors.Name(expected)}, got {Describe(vector)}");
            else
            {
                if (c.FaultError is uint error && d.Values[10] != error) problems.Add($"error code 0x{d.Values[10]:x} instead of 0x{error:x}");
                long offset = (long)d.Values[11] - codeStart;
                if (offset != c.FaultOffset) problems.Add($"faulted at code offset {offset} instead of {c.FaultOffset}");
            }
        }
        else if (vector != 0xFFFF_FFFF) problems.Add($"unexpected {Describe(vector)} (error 0x{d.Values[10]:x}) at code offset {(long)d.Values[11] - codeStart}, CR2 0x{d.Values[12]:x8}");
        for (int r = 0; r < 8; r++)
            if (d.Values[r] != c.ExpectedRegister(r))
                problems.Add($"{RegisterNames[r]} = 0x{d.Values[r]:x8}, expected 0x{c.ExpectedRegister(r):x8}");
        uint flags = d.Values[8] & CpuCase.ComparedFlags, want = c.ExpectedFlags ?? c.InitialFlags;
        if (flags != want) problems.Add($"flags {CpuCase.FormatFlags(flags)}, expected {CpuCase.FormatFlags(want)}");
        if (c.ExpectedCr2 is uint cr2 && d.Values[12] != cr2) problems.Add($"CR2 = 0x{d.Values[12]:x8}, expected 0x{cr2:x8}");
        if (c.RepairedPageFaults is int repairs && d.Values[13] != repairs) problems.Add($"{d.Values[13]} page faults repaired, expected {repairs}");
        if (c.ExpectedMemory is var (address, bytes) && !d.Memory.AsSpan().SequenceEqual(bytes))
            problems.Add($"memory at 0x{address:x8} = {Convert.ToHexString(d.Memory)}, expected {Convert.ToHexString(bytes)}");
        return problems;
    }

    private static string Describe(uint vector) => vector == 0xFFFF_FFFF ? "no fault" : Vectors.Name((int)vector);
}

/// <summary>What a case image printed for one case: EAX..EDI, EFLAGS, vector, error, fault EIP, CR2, repairs; the memory window.</summary>
internal sealed record CaseDump(int Index, uint[] Values, byte[] Memory);
