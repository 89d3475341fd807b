using Iced.Intel;

namespace VirtBench.Machine.Tests.Guest;

/// <summary>
/// Guest code under construction: an Iced assembler for code at <see cref="CodeBase"/> whose labels can also be
/// used as 32-bit constants and absolute addresses (Iced accepts labels only as branch targets in 32-bit code).
/// <see cref="Build"/> runs the emitter until every label's address is stable, so an emitter must be
/// deterministic and must not make encoding lengths depend on label values (use <c>mov r32, imm32</c> and
/// <c>[disp32]</c> forms, which always take four bytes).
/// </summary>
internal sealed class GuestProgram
{
    /// <summary>Where the code of a program starts: just after the multiboot header at 1 MiB.</summary>
    public const uint CodeBase = Platform.KernelLoadAddress + Multiboot.HeaderSize;

    /// <summary>The guest image's highest allowed end: the fixed-address areas of <see cref="TestKernel"/> start there.</summary>
    public const uint ImageLimit = 0x0018_0000;

    // The address every label has in the first pass: large enough that no encoding picks a short form.
    private const uint Placeholder = CodeBase;

    private readonly IReadOnlyDictionary<ulong, uint>? _known;
    private readonly List<Label> _placed = [];

    private GuestProgram(IReadOnlyDictionary<ulong, uint>? known) => _known = known;

    /// <summary>The assembler (32-bit).</summary>
    public Assembler Asm { get; } = new(32);

    /// <summary>Creates a label.</summary>
    public Label CreateLabel(string? name = null) => Asm.CreateLabel(name);

    /// <summary>Places a label at the current position; its address is then available through <see cref="Address"/>.</summary>
    public void Place(ref Label label)
    {
        Asm.zero_bytes(); // takes any label still pending here: Iced allows one label per instruction
        Asm.Label(ref label);
        _placed.Add(label);
    }

    /// <summary>The linear address of a placed label (a placeholder until the layout is known).</summary>
    public uint Address(Label label)
    {
        if (_known is null) return Placeholder;
        return _known.TryGetValue(label.Id, out uint address)
            ? address
            : throw new InvalidOperationException($"label {label} is used as an address but never placed with Place()");
    }

    /// <summary>Places a label on data bytes.</summary>
    public Label Data(string name, ReadOnlySpan<byte> bytes)
    {
        var label = CreateLabel(name);
        Place(ref label);
        if (bytes.Length == 0) Asm.zero_bytes();
        else Asm.db(bytes.ToArray());
        return label;
    }

    /// <summary>Places a label on <paramref name="count"/> zeroed dwords (a variable or a small table).</summary>
    public Label Dwords(string name, int count = 1) => Data(name, new byte[4 * count]);

    /// <summary>Pads with zero bytes up to a multiple of <paramref name="alignment"/>.</summary>
    public void Align(uint alignment)
    {
        var here = CreateLabel();
        Place(ref here);
        uint pad = (alignment - Address(here) % alignment) % alignment;
        if (pad == 0) Asm.zero_bytes();
        else Asm.db(new byte[pad]);
    }

    /// <summary>Assembles an emitter into a multiboot image entered at <see cref="CodeBase"/>.</summary>
    public static AssembledGuest Build(Action<GuestProgram> emit, string name = "test")
    {
        IReadOnlyDictionary<ulong, uint>? known = null;
        for (int pass = 0; pass < 8; pass++)
        {
            var program = new GuestProgram(known);
            emit(program);
            var writer = new ByteWriter();
            var result = program.Asm.Assemble(writer, CodeBase, BlockEncoderOptions.ReturnNewInstructionOffsets);
            var addresses = new Dictionary<ulong, uint>();
            foreach (var label in program._placed) addresses[label.Id] = (uint)result.GetLabelRIP(label);
            if (known is not null && addresses.Count == known.Count && addresses.All(kv => known.TryGetValue(kv.Key, out uint v) && v == kv.Value))
            {
                byte[] body = writer.ToArray();
                if (CodeBase + body.Length > ImageLimit)
                    throw new InvalidOperationException($"test image '{name}' is {body.Length} bytes: it would overlap the kernel areas at 0x{ImageLimit:x}");
                return new AssembledGuest(new GuestImage(Multiboot.CreateImage(body, CodeBase), name), addresses);
            }
            known = addresses;
        }
        throw new InvalidOperationException($"test image '{name}': label addresses did not settle (does the emitter depend on them for encoding lengths?)");
    }

    private sealed class ByteWriter : CodeWriter
    {
        private readonly List<byte> _bytes = [];
        public override void WriteByte(byte value) => _bytes.Add(value);
        public byte[] ToArray() => _bytes.ToArray();
    }
}

/// <summary>An assembled guest: the image and the addresses of its placed labels.</summary>
internal sealed class AssembledGuest(GuestImage image, IReadOnlyDictionary<ulong, uint> addresses)
{
    /// <summary>The bootable image.</summary>
    public GuestImage Image { get; } = image;

    /// <summary>The address of a label placed by the emitter (labels keep their ids from pass to pass).</summary>
    public uint Address(Label label) => addresses[label.Id];

    /// <summary>Decodes the instruction at a linear address of the image (null outside it).</summary>
    public Instruction? Decode(uint address)
    {
        int offset = (int)(address - Platform.KernelLoadAddress);
        if (offset < 0 || offset >= Image.Bytes.Length) return null;
        var decoder = Decoder.Create(32, new ByteArrayCodeReader(Image.Bytes, offset, Image.Bytes.Length - offset));
        decoder.IP = address;
        decoder.Decode(out var instruction);
        return instruction;
    }

    /// <summary>The instruction at a linear address of the image, in NASM syntax with its bytes (for failure messages).</summary>
    public string Disassemble(uint address)
    {
        if (Decode(address) is not { } instruction) return $"0x{address:x8} (outside the image)";
        var output = new StringOutput();
        new NasmFormatter().Format(instruction, output);
        string bytes = Convert.ToHexString(Image.Bytes, (int)(address - Platform.KernelLoadAddress), instruction.Length);
        return $"0x{address:x8}: {output.ToStringAndReset()} ({bytes})";
    }
}
