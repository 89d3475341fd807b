namespace VirtBench.Engines.BinaryTranslation.Cache;

/// <summary>
/// A direct branch out of a translation unit: a near jmp or jcc (rel32) that first goes to a stub calling out to the
/// VMM, and once the target is translated is patched to jump straight to it (chaining).
/// </summary>
internal sealed class UnitExit(uint target, int jumpEnd, int stubOffset)
{
    /// <summary>The guest EIP the branch goes to.</summary>
    public uint Target { get; } = target;

    /// <summary>Offset just past the jump in the unit (its rel32 is the four bytes before).</summary>
    public int JumpEnd { get; } = jumpEnd;

    /// <summary>Offset of the stub (the callout) in the unit.</summary>
    public int StubOffset { get; } = stubOffset;

    /// <summary>The unit the jump is chained to, or null while it goes to the stub.</summary>
    public TranslationUnit? LinkedTo { get; set; }
}
