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
            string Format(Instruction i)
            {
                if (i.FlowControl is FlowControl.ConditionalBranch or FlowControl.UnconditionalBranch or FlowControl.Call)
                    return $"{i.Mnemonic.ToString().ToLowerInvariant()} <end of step>";
                formatter.Format(i, output);
                return output.ToStringAndReset();
            }
            string setup = Setup.Count == 0 ? "" : "[" + string.Join("; ", Setup.Select(Format)) + "] ";
            return setup + string.Join("; ", Tested.Select(Format));
        }
    }
}
