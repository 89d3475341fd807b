using VirtBench.Machine.Tests.Guest;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>
/// Until the 'families' branch is merged, instructions of the families it owns raise #UD here. A test whose guest
/// reports such a #UD is skipped with that reason instead of failing; every other difference still fails.
/// </summary>
internal static class PendingFamilies
{
    /// <summary>
    /// Skips the calling skippable test if our output reports #UD at an instruction of a family owned by the
    /// 'families' branch. <paramref name="where"/> may describe the address further (e.g. a generated step).
    /// </summary>
    public static void SkipIfUnimplemented(AssembledGuest guest, string ours, Func<uint, string>? where = null)
    {
        foreach (string line in ours.Split('\n'))
        {
            if (!ExceptionReport.TryParse(line, out var report) || report.Vector != Cpu.Vectors.UD) continue;
            if (guest.Decode(report.Eip) is not { } instruction) continue;
            if (InstructionFamilies.Of(instruction.Mnemonic) is not { } family || !InstructionFamilies.OwnedByFamiliesBranch(family)) continue;
            string location = where?.Invoke(report.Eip) ?? guest.Disassemble(report.Eip);
            throw new SkipException($"{guest.Image.Name}: {family} is not implemented on this branch yet (#UD at {location}); it comes with the 'families' branch");
        }
    }
}
