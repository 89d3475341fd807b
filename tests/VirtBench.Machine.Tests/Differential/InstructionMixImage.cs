using Iced.Intel;
using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>
/// A bootable image that runs generated instruction sequences and prints a register dump after every step:
/// for each sequence a "seq N" line, the dump of its initial state, then one dump per step; "done" at the end.
/// The same image runs in QEMU and on this machine; their outputs must be equal.
/// </summary>
internal sealed class InstructionMixImage
{
    /// <summary>One generated sequence: its initial state and steps.</summary>
    public sealed record Sequence(int Index, uint[] Registers, uint Flags, uint[] Scratch, IReadOnlyList<GeneratedStep> Steps);

    private readonly Label[][] _stepStarts;

    private InstructionMixImage(string name, int seed, IReadOnlyList<Sequence> sequences, AssembledGuest guest, Label[][] stepStarts)
    {
        Name = name;
        Seed = seed;
        Sequences = sequences;
        Guest = guest;
        _stepStarts = stepStarts;
    }

    /// <summary>The image's name (also the test case's).</summary>
    public string Name { get; }

    /// <summary>The generator seed.</summary>
    public int Seed { get; }

    /// <summary>The sequences, in order.</summary>
    public IReadOnlyList<Sequence> Sequences { get; }

    /// <summary>The assembled image.</summary>
    public AssembledGuest Guest { get; }

    /// <summary>
    /// Generates <paramref name="sequenceCount"/> sequences of <paramref name="stepCount"/> steps, each step's family
    /// drawn from <paramref name="families"/> (repeat a family to weight it), and assembles them.
    /// </summary>
    public static InstructionMixImage Build(string name, int seed, IReadOnlyList<InstructionFamily> families, int sequenceCount, int stepCount)
    {
        var generator = new InstructionMixGenerator(seed);
        var picker = new Random(seed ^ 0x5EED);
        var sequences = new List<Sequence>();
        for (int s = 0; s < sequenceCount; s++)
        {
            generator.ResetStack();
            var registers = generator.InitialRegisters();
            uint flags = generator.InitialFlags();
            var scratch = generator.InitialScratch();
            var steps = Enumerable.Range(0, stepCount).Select(_ => generator.Step(families[picker.Next(families.Count)])).ToList();
            sequences.Add(new Sequence(s, registers, flags, scratch, steps));
        }

        Label[][] starts = [];
        var guest = TestKernel.Build(k => starts = Emit(k, sequences), new KernelOptions(), name);
        return new InstructionMixImage(name, seed, sequences, guest, starts);
    }

    private static Label[][] Emit(TestKernel k, IReadOnlyList<Sequence> sequences)
    {
        var p = k.Program;
        var a = p.Asm;
        var dump = RegisterDump.EmitRoutine(p, k.Serial, KernelLayout.Scratch, InstructionMixGenerator.ScratchBytes);
        var starts = new Label[sequences.Count][];
        foreach (var sequence in sequences)
        {
            k.Serial.Print(p, $"seq {sequence.Index}\n");
            a.mov(esp, KernelLayout.KernelStackTop);
            for (int i = 0; i < sequence.Scratch.Length; i++)
                a.mov(__dword_ptr[KernelLayout.Scratch + 4 * (uint)i], sequence.Scratch[i]);
            a.push(sequence.Flags);
            a.popfd();
            AssemblerRegister32[] registers = [eax, ecx, edx, ebx, esp, ebp, esi, edi];
            for (int r = 0; r < 8; r++)
                if (r != 4) a.mov(registers[r], sequence.Registers[r]);
            RegisterDump.EmitCall(a, dump, 0xFFFF_FFFF);

            starts[sequence.Index] = new Label[sequence.Steps.Count];
            for (int s = 0; s < sequence.Steps.Count; s++)
            {
                var step = sequence.Steps[s];
                starts[sequence.Index][s] = p.CreateLabel($"s{sequence.Index}_{s}");
                p.Place(ref starts[sequence.Index][s]);
                var end = p.CreateLabel();
                int index = 0;
                foreach (var original in step.Setup.Concat(step.Tested))
                {
                    var i = original;
                    if (step.EndAddressImmediates.Contains(index++)) i.Immediate32 = p.Address(end);
                    // Direct branches target the end of the step; the assembler resolves a label id given as the target.
                    if (i.IsJccShortOrNear || i.IsLoop || i.IsLoopcc || i.IsJcxShort || i.IsCallNear || i.IsJmpShortOrNear)
                        i = Instruction.CreateBranch(i.Code, end.Id);
                    a.AddInstruction(i);
                }
                p.Place(ref end);
                RegisterDump.EmitCall(a, dump, ~step.UndefinedFlags);
            }
        }
        k.Serial.Print(p, "done\n");
        k.Exit(0);
        return starts;
    }

    /// <summary>The (sequence, step) whose code contains <paramref name="eip"/>, or null.</summary>
    public (int Sequence, int Step)? StepAt(uint eip)
    {
        (int, int)? found = null;
        uint best = 0;
        for (int s = 0; s < _stepStarts.Length; s++)
            for (int i = 0; i < _stepStarts[s].Length; i++)
            {
                uint start = Guest.Address(_stepStarts[s][i]);
                if (start <= eip && start >= best) { best = start; found = (s, i); }
            }
        return found;
    }
}
