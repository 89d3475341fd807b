using Iced.Intel;
using VirtBench.Engines.BinaryTranslation.Cache;
using VirtBench.Engines.BinaryTranslation.Runtime;
using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Engines.BinaryTranslation.Runtime.TranslatorData;

namespace VirtBench.Engines.BinaryTranslation.Translation;

/// <summary>
/// cli, sti, pushfd and popfd as short sequences in the translation cache, on the guest's virtual IF and IOPL in the
/// VMM's data (<see cref="TranslatorData"/>), with the guest-visible results of the bare machine: pushfd pushes the real
/// flags with the guest's IF and IOPL; popfd loads the real flags the ring-1 CPU lets it load and the guest's IF and
/// IOPL into the VMM's data. None changes the guest's arithmetic flags. When the guest enables interrupts while one is
/// held, the sequence calls out (found with <c>jecxz</c>, which reads no flag) so that the VMM lets it in. Each
/// sequence accesses guest memory first (pushfd's push, popfd's read), before it changes anything the guest sees, so
/// only that access can fault, and the fault is the guest instruction's.
/// </summary>
internal static class InterruptFlagTranslation
{
    private const int IfBit = 0x200, IoplBits = 0x3000;

    /// <summary>Emits the sequence of one of cli, sti, pushfd, popfd.</summary>
    public static void Emit(UnitAssembler u, in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Cli: Cli(u, (uint)i.IP); break;
            case Mnemonic.Sti: Sti(u, i); break;
            case Mnemonic.Pushfd: Pushfd(u, i); break;
            default: Popfd(u, i); break;
        }
    }

    private static void Cli(UnitAssembler u, uint eip)
    {
        u.A.mov(__dword_ptr.gs[InterruptFlag], 0);
        u.At(eip, TcRole.Boundary);
        u.Probe(Event.BtInTcEmulation);
    }

    /// <summary>sti: IF = 1, remembering the old IF (an sti that sets IF holds interrupts for one more instruction).</summary>
    private static void Sti(UnitAssembler u, in Instruction i)
    {
        var a = u.A;
        uint eip = (uint)i.IP, next = (uint)i.NextIP;
        var none = a.CreateLabel();
        a.mov(__dword_ptr.gs[Saved(Register.ECX)], ecx);
        u.At(eip, TcRole.Boundary);
        a.mov(ecx, __dword_ptr.gs[InterruptFlag]);
        u.At(eip, TcRole.Inside);
        u.Probe(Event.BtInTcEmulation);
        a.mov(__dword_ptr.gs[InterruptFlagBeforeSti], ecx);
        a.mov(__dword_ptr.gs[InterruptFlag], IfBit);
        u.At(eip, TcRole.Inside, Register.ECX);
        WindowCheck(u, i, __dword_ptr.gs[PendingInterrupt], ref none, next);
        u.FollowsSti();
    }

    /// <summary>pushfd: the real flags (IF 1, IOPL 0 at ring 1) made the guest's: + its IF - 0x200 + its IOPL, with lea (no flags).</summary>
    private static void Pushfd(UnitAssembler u, in Instruction i)
    {
        var a = u.A;
        uint eip = (uint)i.IP, next = (uint)i.NextIP;
        a.pushfd();
        u.At(eip, TcRole.Boundary);
        a.mov(__dword_ptr.gs[Saved(Register.EAX)], eax);
        u.At(next, TcRole.Inside);
        u.Probe(Event.BtInTcEmulation);
        a.mov(__dword_ptr.gs[Saved(Register.ECX)], ecx);
        a.mov(eax, __dword_ptr[esp]);
        a.mov(ecx, __dword_ptr.gs[InterruptFlag]);
        a.lea(eax, __[eax + ecx - IfBit]);
        a.mov(ecx, __dword_ptr.gs[Iopl]);
        a.lea(eax, __[eax + ecx]);
        a.mov(__dword_ptr[esp], eax);
        a.mov(ecx, __dword_ptr.gs[Saved(Register.ECX)]);
        a.mov(eax, __dword_ptr.gs[Saved(Register.EAX)]);
        u.At(next, TcRole.Inside);
    }

    /// <summary>
    /// popfd at the guest's ring 0: IF and IOPL from the popped value into the VMM's data (computed before the real popfd,
    /// which then restores the arithmetic flags), the real flags from the real popfd (which leaves the real IF and IOPL).
    /// </summary>
    private static void Popfd(UnitAssembler u, in Instruction i)
    {
        var a = u.A;
        uint eip = (uint)i.IP, next = (uint)i.NextIP;
        var none = a.CreateLabel();
        a.mov(__dword_ptr.gs[Saved(Register.ECX)], ecx);
        u.At(eip, TcRole.Boundary);
        a.mov(ecx, __dword_ptr[esp]);
        u.At(eip, TcRole.Inside);
        a.and(ecx, IoplBits);
        u.At(eip, TcRole.Inside, Register.ECX);
        u.Probe(Event.BtInTcEmulation);
        a.mov(__dword_ptr.gs[Iopl], ecx);
        a.mov(ecx, __dword_ptr[esp]);
        a.and(ecx, IfBit);
        a.mov(__dword_ptr.gs[InterruptFlag], ecx);
        a.and(ecx, __dword_ptr.gs[PendingInterrupt]);
        a.popfd();
        u.At(eip, TcRole.Inside, Register.ECX);
        // ECX = 0x200 if IF is now set with an interrupt held.
        WindowCheck(u, i, null, ref none, next);
    }

    /// <summary>
    /// Calls out if ECX (loaded from <paramref name="pending"/> first, if given) is not zero: the guest enabled interrupts
    /// with one held. The guest's ECX comes back from its save slot on both paths; the callout resumes after the sequence.
    /// </summary>
    private static void WindowCheck(UnitAssembler u, in Instruction i, AssemblerMemoryOperand? pending, ref Label none, uint next)
    {
        var a = u.A;
        if (pending is { } p) a.mov(ecx, p);
        a.jecxz(none);
        a.mov(ecx, __dword_ptr.gs[Saved(Register.ECX)]);
        u.At(next, TcRole.Inside, Register.ECX);
        u.Callout(new CalloutSite(CalloutKind.InterruptWindow, next, i, Event.BtCalloutOther), next, fallsThrough: false);
        a.Label(ref none);
        a.mov(ecx, __dword_ptr.gs[Saved(Register.ECX)]);
        u.At(next, TcRole.Inside, Register.ECX);
        u.ResumeHere();
    }
}
