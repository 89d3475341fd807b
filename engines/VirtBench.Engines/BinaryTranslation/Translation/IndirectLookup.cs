using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Engines.BinaryTranslation.Runtime.TranslatorData;

namespace VirtBench.Engines.BinaryTranslation.Translation;

/// <summary>
/// The guest-to-translation lookup of indirect jumps, indirect calls and returns: one routine in the translation cache
/// that every such branch jumps to with the guest target in ECX (the guest's ECX in its save slot). It probes the
/// lookup table (<see cref="LookupEntries"/> entries indexed by the target's low 13 bits) and jumps to the
/// translation on a hit; on a miss it calls out, and the VMM finds or makes the translation and fills the entry. It
/// compares with <c>not</c>, <c>lea</c> and <c>jecxz</c>, so the guest's flags survive it.
/// </summary>
internal static class IndirectLookup
{
    /// <summary>The routine, to encode where the translation cache starts. Its map says no instruction of it is a guest boundary.</summary>
    public static UnitAssembler Routine()
    {
        var u = new UnitAssembler();
        var a = u.A;
        var hit = a.CreateLabel();
        a.mov(__dword_ptr.gs[Saved(Register.EAX)], eax);
        u.At(0, TcRole.Inside);
        u.Probe(Event.BtIndirectLookup);
        a.lea(eax, __[ecx * 8]);
        a.movzx(eax, ax);                                   // the entry's offset: (EIP & 0x1FFF) * 8
        a.mov(eax, __dword_ptr.gs[eax + LookupTable]);      // its guest EIP
        a.not(ecx);
        a.lea(eax, __[eax + ecx + 1]);                      // entry EIP - target
        a.not(ecx);
        a.xchg(eax, ecx);                                   // ECX = the difference, EAX = the target
        a.jecxz(hit);
        a.mov(__dword_ptr.gs[LookupTarget], eax);
        a.mov(eax, __dword_ptr.gs[Saved(Register.EAX)]);
        a.mov(ecx, __dword_ptr.gs[Saved(Register.ECX)]);
        u.At(0, TcRole.Inside);
        u.Callout(new CalloutSite(CalloutKind.LookupMiss, 0, default, Event.BtCalloutOther), 0, fallsThrough: false, TcRole.Inside);
        a.Label(ref hit);
        a.lea(eax, __[eax * 8]);
        a.movzx(eax, ax);
        a.mov(eax, __dword_ptr.gs[eax + LookupTable + 4]);
        a.mov(__dword_ptr.gs[JumpTarget], eax);
        a.mov(eax, __dword_ptr.gs[Saved(Register.EAX)]);
        a.mov(ecx, __dword_ptr.gs[Saved(Register.ECX)]);
        a.jmp(__dword_ptr.gs[JumpTarget]);
        u.At(0, TcRole.Inside);
        return u;
    }
}
