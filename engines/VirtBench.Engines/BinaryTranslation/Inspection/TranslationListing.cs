using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.BinaryTranslation.Runtime;
using VirtBench.Machine;
using VirtBench.Machine.Memory;

namespace VirtBench.Engines.BinaryTranslation.Inspection;

/// <summary>What the translation cache held at the end of a run, its hottest units first.</summary>
/// <param name="Run">The run.</param>
/// <param name="Units">Units in the cache at the end.</param>
/// <param name="GuestInstructions">Guest instructions those units translate.</param>
/// <param name="CacheBytes">Bytes of translated code in the cache (the lookup routine included).</param>
/// <param name="Flushes">Times the cache filled up and was flushed.</param>
/// <param name="Hottest">The units entered most often, with their guest code beside its translation.</param>
public sealed record TranslationListing(EngineRun Run, int Units, int GuestInstructions, uint CacheBytes, int Flushes, IReadOnlyList<UnitListing> Hottest);

/// <summary>One translation unit: where it comes from, how often it was entered at its start, and its code.</summary>
/// <param name="GuestAddress">Guest linear address of its first instruction.</param>
/// <param name="Location">That address with the guest's symbols (e.g. <c>sys_getpid+0x3</c>).</param>
/// <param name="Executions">Entries at its start, counted by a probe on its first translated instruction.</param>
/// <param name="TranslationAddress">Machine address of the translation.</param>
/// <param name="TranslationBytes">Bytes of the translation.</param>
/// <param name="Rows">Each guest instruction beside its translation, then the exit stubs.</param>
public sealed record UnitListing(uint GuestAddress, string Location, ulong Executions, uint TranslationAddress, int TranslationBytes, IReadOnlyList<ListingRow> Rows);

/// <summary>A guest instruction (null for the exit stubs) and the translated instructions that stand for it.</summary>
/// <param name="Guest">"address: instruction", disassembled with Iced's formatter.</param>
/// <param name="Translation">"address: instruction ; what it is", one per translated instruction.</param>
public sealed record ListingRow(string? Guest, IReadOnlyList<string> Translation);

/// <summary>Builds a <see cref="TranslationListing"/> from the cache: guest code and translation disassembled with Iced.</summary>
internal sealed class TranslationLister(PhysicalMemory memory)
{
    private readonly Formatter _formatter = CreateFormatter();
    private readonly TranslatedInstructions _decoder = new(memory);
    private uint _lookupRoutine;

    /// <summary>The cache's <paramref name="top"/> hottest units (by entries at their start; ties by translation order).</summary>
    public TranslationListing List(EngineRun run, TranslationCache cache, GuestSymbols symbols, int top)
    {
        _lookupRoutine = cache.Routine.Address;
        var units = cache.Units.ToList();
        var hottest = units.OrderByDescending(u => u.Executions[0]).ThenBy(u => u.Id).Take(top)
            .Select(u => new UnitListing(u.Linear, symbols.Describe(u.Linear), u.Executions[0], u.Address, (int)u.Length, Rows(u)))
            .ToList();
        return new TranslationListing(run, units.Count, units.Sum(u => u.Guest.Length), cache.Next - cache.Start, cache.Flushes, hottest);
    }

    private List<ListingRow> Rows(TranslationUnit unit)
    {
        int stubs = unit.Exits.Length == 0 ? (int)unit.Length : unit.Exits.Min(e => e.StubOffset);
        var rows = new List<ListingRow>();
        for (int k = 0; k < unit.Guest.Length; k++)
        {
            int end = k + 1 < unit.Guest.Length ? unit.InstructionOffsets[k + 1] : stubs;
            string guest = $"{(uint)unit.Guest[k].IP:x8}: {Format(unit.Guest[k])}";
            rows.Add(new ListingRow(guest, Translated(unit, unit.InstructionOffsets[k], end)));
        }
        if (stubs < unit.Length) rows.Add(new ListingRow(null, Translated(unit, stubs, (int)unit.Length)));
        return rows;
    }

    private List<string> Translated(TranslationUnit unit, int start, int end)
    {
        var lines = new List<string>();
        foreach (var entry in unit.Map)
        {
            if (entry.Offset < start || entry.Offset >= end) continue;
            uint address = unit.Address + entry.Offset;
            bool decoded = _decoder.TryDecode(address, out var instruction);
            string text = decoded ? Format(instruction) : "(undecodable)";
            string note = decoded && instruction.FlowControl == FlowControl.UnconditionalBranch && instruction.NearBranchTarget == _lookupRoutine
                ? "   ; to the indirect lookup"
                : Note(unit, entry);
            if (note == "" && entry.Offset == start && entry.Role == TcRole.Boundary) note = "   ; in-TC sequence";
            lines.Add($"{address:x8}: {text}{note}");
        }
        return lines;
    }

    /// <summary>What a translated instruction is, when that is not plain from the instruction.</summary>
    private static string Note(TranslationUnit unit, TcMapEntry entry)
    {
        if (entry.Site >= 0)
        {
            var site = unit.Sites[entry.Site];
            return site.Kind switch
            {
                CalloutKind.Exit when unit.Exits[site.Exit].LinkedTo is null => $"   ; exit stub to {site.GuestEip:x8}",
                CalloutKind.Exit => $"   ; exit stub to {site.GuestEip:x8} (chained: not used)",
                _ => $"   ; callout: {site.Kind} ({site.Counted})",
            };
        }
        foreach (var exit in unit.Exits)
            if (unit.Address + (uint)exit.JumpEnd == unit.Address + entry.Offset + Length(unit, entry))
                return exit.LinkedTo is null ? $"   ; exit to {exit.Target:x8}, not chained" : $"   ; exit to {exit.Target:x8}, chained";
        return entry.Role == TcRole.Ident ? "   ; IDENT" : "";
    }

    private static uint Length(TranslationUnit unit, TcMapEntry entry)
    {
        int index = Array.IndexOf(unit.Map, entry);
        return (index + 1 < unit.Map.Length ? unit.Map[index + 1].Offset : unit.Length) - entry.Offset;
    }

    private string Format(in Instruction instruction)
    {
        var output = new StringOutput();
        _formatter.Format(instruction, output);
        return output.ToStringAndReset();
    }

    private static Formatter CreateFormatter()
    {
        var formatter = new IntelFormatter();
        formatter.Options.HexPrefix = "0x";
        formatter.Options.HexSuffix = "";
        formatter.Options.UppercaseHex = false;
        formatter.Options.SpaceAfterOperandSeparator = true;
        formatter.Options.FirstOperandCharIndex = 8;
        return formatter;
    }
}
