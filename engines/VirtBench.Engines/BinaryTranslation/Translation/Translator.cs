using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.BinaryTranslation.Decoding;

namespace VirtBench.Engines.BinaryTranslation.Translation;

/// <summary>
/// Translates a decoded unit, instruction by instruction, by family (<see cref="InstructionFamily"/>): IDENT copies,
/// in-TC sequences, branches rewritten into exits and lookups, callouts. A unit whose last instruction does not
/// transfer control ends with an exit to the next guest instruction. Instructions adaptive translation has marked
/// (<paramref name="adapted"/>, by guest linear address) become page-table-write callouts.
/// </summary>
internal sealed class Translator(uint lookupRoutine, Func<uint, bool> adapted)
{
    /// <summary>Translates <paramref name="unit"/> (its first instruction's linear address is <paramref name="linear"/>).</summary>
    public UnitAssembler Translate(GuestUnit unit, uint linear)
    {
        var u = new UnitAssembler();
        u.ProbeUnitEntry();
        bool transferred = false;
        uint csBase = linear - (uint)unit.Instructions[0].IP;
        for (int k = 0; k < unit.Instructions.Length; k++)
        {
            var i = unit.Instructions[k];
            u.BeginGuestInstruction();
            transferred = Emit(u, i, unit.Encodings[k], adapted(csBase + (uint)i.IP));
        }
        if (!transferred) u.Exit(Code.Jmp_rel32_32, unit.NextEip, unit.NextEip);
        return u;
    }

    /// <summary>Emits one instruction's translation; true if it transfers control (nothing follows it in the unit).</summary>
    private bool Emit(UnitAssembler u, in Instruction i, byte[] bytes, bool adaptedWrite)
    {
        switch (InstructionFamily.Of(i))
        {
            case Family.InterruptFlag:
                InterruptFlagTranslation.Emit(u, i);
                return false;
            case Family.DirectBranch:
                BranchTranslation.Direct(u, i);
                return true;
            case Family.ConditionalBranch:
                BranchTranslation.Conditional(u, i);
                return true;
            case Family.IndirectBranch:
                BranchTranslation.Indirect(u, i, lookupRoutine);
                return true;
            case Family.Callout:
                CalloutTranslation.Emulated(u, i, InstructionFamily.CalloutEvent(i)!.Value);
                return !InstructionFamily.FallsThrough(i);
            case Family.SoftwareInterrupt:
                CalloutTranslation.SoftwareInterrupt(u, i);
                return true;
            case Family.Invalid:
                CalloutTranslation.Invalid(u, i);
                return true;
            case Family.GuestGs:
                IdentTranslation.WithGuestGs(u, i, bytes);
                return false;
            default:
                if (adaptedWrite && InstructionFamily.WritesMemory(i)) CalloutTranslation.PageTableWrite(u, i);
                else IdentTranslation.Copy(u, i, bytes);
                return false;
        }
    }
}
