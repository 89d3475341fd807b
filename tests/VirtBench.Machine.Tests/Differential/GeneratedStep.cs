using Iced.Intel;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>
/// One step of a generated sequence: setup instructions that give the operands chosen values (mov, cld/std: they
/// change no arithmetic flag), the instructions under test, and the arithmetic flags those leave architecturally
/// undefined. A register dump follows every step.
/// </summary>
internal sealed class GeneratedStep(InstructionFamily family)
{
    /// <summary>The family under test.</summary>
    public InstructionFamily Family { get; } = family;

    /// <summary>Instructions that prepare operands.</summary>
    public List<Instruction> Setup { get; } = [];

    /// <summary>The instructions under test. A branch among them targets the end of the step.</summary>
    public List<Instruction> Tested { get; } = [];

    /// <summary>
    /// Instructions (indexes into Setup followed by Tested) whose 32-bit immediate is to be the address of the end
    /// of the step (for indirect jumps and calls, and returns); the generator leaves 0 there.
    /// </summary>
    public HashSet<int> EndAddressImmediates { get; } = [];

    /// <summary>EFLAGS bits the tested instructions leave undefined (masked in the dump and cleared after it).</summary>
    public uint UndefinedFlags { get; set; }

    /// <summary>A listing of the step, for failure messages.</summary>
    public string Listing
    {
        get
        {
            var formatter = new NasmFormatter();
            formatter.Options.FirstOperandCharIndex = 0;
            var output = new StringOutput();
            int index = 0;
            string Format(Instruction i)
            {
                bool endAddress = EndAddressImmediates.Contains(index++);
                if (i.IsJccShortOrNear || i.IsLoop || i.IsLoopcc || i.IsJcxShort || i.IsCallNear || i.IsJmpShortOrNear)
                    return $"{i.Mnemonic.ToString().ToLowerInvariant()} <end of step>";
                formatter.Format(i, output);
                return output.ToStringAndReset() + (endAddress ? " (0 = end of step)" : "");
            }
            string setup = Setup.Count == 0 ? "" : "[" + string.Join("; ", Setup.Select(Format)) + "] ";
            return setup + string.Join("; ", Tested.Select(Format));
        }
    }
}
