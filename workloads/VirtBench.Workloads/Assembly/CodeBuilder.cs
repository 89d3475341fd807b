using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Assembly;

/// <summary>
/// A thin layer over Iced's 32-bit <see cref="Assembler"/> for hand-written guest code: named labels that become
/// symbols, absolute addresses of symbols (Iced cannot encode a label as a 32-bit absolute operand, so the code
/// is emitted in passes and each pass reads the previous pass's symbol table), data deferred to after the code,
/// and tagged code ranges (the pv-ops sites).
/// </summary>
/// <remarks>
/// Emission must be a pure function of its inputs so that every pass emits the same instructions. Unknown
/// addresses read as <see cref="Placeholder"/>, which is large enough to force the same 32-bit encodings that
/// the real address will get, so instruction sizes do not change between passes.
/// </remarks>
internal sealed class CodeBuilder
{
    /// <summary>The address reported for symbols not known yet (first pass).</summary>
    public const uint Placeholder = 0x0010_0000;

    private const int MaxPasses = 6;

    /// <summary>The data area starts at a multiple of this (a page).</summary>
    public const uint DataAlignment = 4096;

    private readonly IReadOnlyDictionary<string, uint>? _known;
    private readonly Dictionary<string, Label> _labels = new(StringComparer.Ordinal);
    private readonly List<(string Name, int Index)> _symbols = [];
    private readonly HashSet<string> _referenced = new(StringComparer.Ordinal);
    private readonly List<(string Tag, int Start, int End)> _ranges = [];
    private readonly List<Action> _data = [];
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private int _labelPendingAt = -1;
    private int _textEnd = -1;

    private CodeBuilder(uint origin, IReadOnlyDictionary<string, uint>? known)
    {
        Origin = origin;
        _known = known;
    }

    /// <summary>The raw Iced assembler, for instructions.</summary>
    public Assembler A { get; } = new(32);

    /// <summary>The address of the first emitted byte.</summary>
    public uint Origin { get; }

    /// <summary>Emits code at <paramref name="origin"/> in as many passes as needed for addresses to settle.</summary>
    public static AssembledCode Build(uint origin, Action<CodeBuilder> emit)
    {
        IReadOnlyDictionary<string, uint>? known = null;
        for (int pass = 0; pass < MaxPasses; pass++)
        {
            var builder = new CodeBuilder(origin, known);
            emit(builder);
            var code = builder.Assemble();
            if (known is not null && SameSymbols(known, code.Symbols))
            {
                builder.CheckReferences(code.Symbols);
                return code;
            }
            known = code.Symbols;
        }
        throw new InvalidOperationException($"guest code at 0x{origin:x8}: symbol addresses did not settle in {MaxPasses} passes");
    }

    /// <summary>The Iced label with this name (created on first use).</summary>
    public Label Label(string name)
    {
        if (!_labels.TryGetValue(name, out var label))
            _labels[name] = label = A.CreateLabel(name);
        return label;
    }

    /// <summary>A fresh anonymous label.</summary>
    public Label NewLabel() => A.CreateLabel();

    /// <summary>Binds a named label (and symbol) to the next instruction.</summary>
    public void Bind(string name)
    {
        var label = Label(name);
        Bind(ref label);
        _labels[name] = label;
        _symbols.Add((name, A.Instructions.Count));
    }

    /// <summary>Binds an anonymous label to the next instruction.</summary>
    public void Bind(ref Label label)
    {
        // Iced allows one label per instruction; two labels in a row get a nop between them.
        if (_labelPendingAt == A.Instructions.Count) A.nop();
        A.Label(ref label);
        _labelPendingAt = A.Instructions.Count;
    }

    /// <summary>The absolute address of a symbol (from the previous pass; <see cref="Placeholder"/> in the first).</summary>
    public uint Addr(string name)
    {
        _referenced.Add(name);
        return _known is not null && _known.TryGetValue(name, out uint address) ? address : Placeholder;
    }

    /// <summary>The dword variable at a symbol.</summary>
    public AssemblerMemoryOperand Var(string name) => __dword_ptr[Addr(name)];

    /// <summary>The byte variable at a symbol.</summary>
    public AssemblerMemoryOperand ByteVar(string name) => __byte_ptr[Addr(name)];

    /// <summary>Calls a named routine.</summary>
    public void Call(string name) => A.call(Label(name));

    /// <summary>Jumps to a named label.</summary>
    public void Jmp(string name) => A.jmp(Label(name));

    /// <summary>Emits the code that <paramref name="body"/> produces as a range tagged <paramref name="tag"/>.</summary>
    public void Tagged(string tag, Action body)
    {
        int start = A.Instructions.Count;
        body();
        _ranges.Add((tag, start, A.Instructions.Count));
    }

    /// <summary>
    /// Defers data to after the code; <paramref name="body"/> emits it with a bound label first, at a multiple of
    /// <paramref name="alignment"/> (padding computed from the previous pass's addresses).
    /// </summary>
    public void Data(string name, Action body, uint alignment = 1) => _data.Add(() =>
    {
        if (alignment > 1)
        {
            string before = name + ".unaligned";
            Mark(before);
            uint padding = (alignment - Addr(before) % alignment) % alignment;
            if (padding > 0) A.db(new byte[padding]);
        }
        Bind(name);
        body();
    });

    /// <summary>Records a symbol at the next instruction without a label (it cannot be a jump target).</summary>
    public void Mark(string name) => _symbols.Add((name, A.Instructions.Count));

    /// <summary>A dword variable in the data area, initialised to <paramref name="value"/>.</summary>
    public void Dword(string name, uint value = 0) => Data(name, () => A.dd(value));

    /// <summary>Zeroed bytes in the data area.</summary>
    public void Zeros(string name, int count) => Data(name, () => A.db(new byte[count]));

    /// <summary>Bytes in the data area.</summary>
    public void Bytes(string name, byte[] bytes) => Data(name, () => A.db(bytes));

    /// <summary>The address of a NUL-terminated Latin-1 string in the data area (equal strings are stored once).</summary>
    public uint String(string text)
    {
        if (!_strings.TryGetValue(text, out var name))
        {
            _strings[text] = name = $"str.{_strings.Count}";
            var bytes = System.Text.Encoding.Latin1.GetBytes(text + "\0");
            Bytes(name, bytes);
        }
        return Addr(name);
    }

    private AssembledCode Assemble()
    {
        _textEnd = A.Instructions.Count;
        // Data starts on a fresh page: stores to data must not hit a page that holds code (which would make
        // every CPU and emulator treat them as self-modifying code).
        Mark("text_end");
        uint textEnd = Addr("text_end");
        uint padding = (DataAlignment - textEnd % DataAlignment) % DataAlignment;
        if (_data.Count > 0 && padding > 0) A.db(new byte[padding]);
        for (int i = 0; i < _data.Count; i++) _data[i]();   // data emitters may add more data (strings)
        if (A.Instructions.Count == 0) A.nop();
        var stream = new MemoryStream();
        var result = A.Assemble(new StreamCodeWriter(stream), Origin, BlockEncoderOptions.ReturnNewInstructionOffsets);
        uint[] offsets = result.Result[0].NewInstructionOffsets;
        uint length = (uint)stream.Length;
        uint AddressOfIndex(int index) => Origin + (index < offsets.Length ? offsets[index] : length);

        var symbols = new Dictionary<string, uint>(StringComparer.Ordinal);
        foreach (var (name, index) in _symbols)
            if (!symbols.TryAdd(name, AddressOfIndex(index)))
                throw new InvalidOperationException($"guest symbol '{name}' is defined twice");
        var ranges = _ranges.Select(r => new TaggedRange(r.Tag, AddressOfIndex(r.Start), AddressOfIndex(r.End))).ToArray();
        return new AssembledCode(Origin, stream.ToArray(), symbols, AddressOfIndex(_textEnd), ranges);
    }

    private void CheckReferences(IReadOnlyDictionary<string, uint> symbols)
    {
        var missing = _referenced.Where(name => !symbols.ContainsKey(name)).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
            throw new InvalidOperationException($"guest code refers to undefined symbols: {string.Join(", ", missing)}");
    }

    private static bool SameSymbols(IReadOnlyDictionary<string, uint> a, IReadOnlyDictionary<string, uint> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out uint v) && v == kv.Value);
}
