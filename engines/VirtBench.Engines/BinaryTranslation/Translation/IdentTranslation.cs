using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.BinaryTranslation.Runtime;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.BinaryTranslation.Translation;

/// <summary>
/// Innocuous instructions: copied unchanged (IDENT), byte for byte. Position-independent in 32-bit code once the
/// branches are rewritten, they do in the translation cache exactly what they do in place, with the guest's
/// segments and page tables. An instruction that uses %gs (reserved for the VMM's data while translated code runs)
/// runs as a copy between a load of the guest's %gs and a callout that takes it back.
/// </summary>
internal static class IdentTranslation
{
    /// <summary>The guest instruction's own bytes.</summary>
    public static void Copy(UnitAssembler u, in Instruction i, byte[] bytes)
    {
        u.A.db(bytes);
        u.At((uint)i.IP, TcRole.Ident);
    }

    /// <summary>An instruction that names %gs: the copy runs with the guest's %gs loaded for real.</summary>
    public static void WithGuestGs(UnitAssembler u, in Instruction i, byte[] bytes)
    {
        uint eip = (uint)i.IP, next = (uint)i.NextIP;
        u.A.mov(gs, __word_ptr.gs[TranslatorData.GuestGs]);
        u.At(eip, TcRole.Boundary);
        Copy(u, i, bytes);
        u.Callout(new CalloutSite(CalloutKind.GsRestore, next, i, Machine.Event.BtCalloutDescriptorTable), next, fallsThrough: true);
    }
}
