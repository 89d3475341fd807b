using Iced.Intel;
using VirtBench.Machine;

namespace VirtBench.Engines.BinaryTranslation.Translation;

/// <summary>How the translator treats a guest kernel instruction.</summary>
internal enum Family
{
    /// <summary>Innocuous: copied unchanged (IDENT).</summary>
    Ident,
    /// <summary>cli, sti, pushfd, popfd: a short sequence on the virtual IF in the translation cache.</summary>
    InterruptFlag,
    /// <summary>jmp or call to an address in the instruction: chained to the target's translation.</summary>
    DirectBranch,
    /// <summary>jcc, loop, jecxz: two exits, both chained.</summary>
    ConditionalBranch,
    /// <summary>jmp or call through a register or memory, ret: through the guest-to-translation lookup.</summary>
    IndirectBranch,
    /// <summary>A privileged or sensitive instruction the VMM emulates (a callout).</summary>
    Callout,
    /// <summary>int n, int3, into: a callout that delivers through the guest's IDT.</summary>
    SoftwareInterrupt,
    /// <summary>Uses %gs, which translated code reserves for the VMM: run with the guest's %gs, then call out to take it back.</summary>
    GuestGs,
    /// <summary>Does not decode: a callout that gives the guest its #UD.</summary>
    Invalid,
}

/// <summary>
/// Classifies guest kernel instructions for the translator: the innocuous ones are copied, the ones that depend on
/// EIP (branches) are rewritten, the ones that read or write privileged state (the interrupt flag, control registers,
/// descriptor tables, segment state that shows the ring, I/O, MSRs, returns to user mode...) become in-TC sequences or
/// callouts, counted by kind.
/// </summary>
internal static class InstructionFamily
{
    /// <summary>The family of an instruction.</summary>
    public static Family Of(in Instruction i)
    {
        if (i.Code == Code.INVALID) return Family.Invalid;
        switch (i.Mnemonic)
        {
            case Mnemonic.Cli or Mnemonic.Sti or Mnemonic.Pushfd or Mnemonic.Popfd:
                return Family.InterruptFlag;
            case Mnemonic.Jmp or Mnemonic.Call:
                if (i.Op0Kind is OpKind.NearBranch32 or OpKind.NearBranch16) return Family.DirectBranch;
                if (i.Op0Kind is OpKind.FarBranch32 or OpKind.FarBranch16 || i.MemorySize is MemorySize.SegPtr32 or MemorySize.SegPtr16) return Family.Callout;
                return Family.IndirectBranch;
            case Mnemonic.Ret:
                return Family.IndirectBranch;
            case Mnemonic.Loop or Mnemonic.Loope or Mnemonic.Loopne or Mnemonic.Jecxz or Mnemonic.Jcxz:
                return Family.ConditionalBranch;
            case Mnemonic.Int or Mnemonic.Int3 or Mnemonic.Into:
                return Family.SoftwareInterrupt;
        }
        if (i.FlowControl == FlowControl.ConditionalBranch && i.ConditionCode != ConditionCode.None) return Family.ConditionalBranch;
        if (CalloutEvent(i) is not null) return Family.Callout;
        return UsesGs(i) ? Family.GuestGs : Family.Ident;
    }

    /// <summary>The callout event an emulated instruction is counted as, or null if it is not one the VMM emulates.</summary>
    public static Event? CalloutEvent(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Mov when IsControlOrDebugRegister(i) => Event.BtCalloutControlRegister,
        Mnemonic.Clts or Mnemonic.Lmsw or Mnemonic.Smsw => Event.BtCalloutControlRegister,
        Mnemonic.Lgdt or Mnemonic.Lidt or Mnemonic.Sgdt or Mnemonic.Sidt or Mnemonic.Lldt or Mnemonic.Sldt or Mnemonic.Ltr or
            Mnemonic.Str or Mnemonic.Lar or Mnemonic.Lsl or Mnemonic.Verr or Mnemonic.Verw or Mnemonic.Lss => Event.BtCalloutDescriptorTable,
        Mnemonic.Mov when i.Op0Kind == OpKind.Register && i.Op0Register == Register.SS => Event.BtCalloutDescriptorTable,
        Mnemonic.Mov when i.Op1Kind == OpKind.Register && i.Op1Register is Register.CS or Register.SS => Event.BtCalloutDescriptorTable,
        Mnemonic.Push when i.Op0Kind == OpKind.Register && i.Op0Register is Register.CS or Register.SS => Event.BtCalloutDescriptorTable,
        Mnemonic.Pop when i.Op0Kind == OpKind.Register && i.Op0Register == Register.SS => Event.BtCalloutDescriptorTable,
        Mnemonic.Invlpg or Mnemonic.Wbinvd or Mnemonic.Invd => Event.BtCalloutTlb,
        Mnemonic.In or Mnemonic.Out or Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd or Mnemonic.Outsb or Mnemonic.Outsw or Mnemonic.Outsd => Event.BtCalloutIo,
        Mnemonic.Iret or Mnemonic.Iretd or Mnemonic.Sysexit => Event.BtCalloutReturn,
        Mnemonic.Hlt => Event.BtCalloutHalt,
        Mnemonic.Cpuid or Mnemonic.Rdmsr or Mnemonic.Wrmsr or Mnemonic.Sysenter or Mnemonic.Retf or Mnemonic.Pushf or Mnemonic.Popf => Event.BtCalloutOther,
        Mnemonic.Jmp or Mnemonic.Call => Event.BtCalloutOther, // far (Of sends only far forms here)
        _ => null,
    };

    /// <summary>True if the instruction continues with the next one when its emulation completes (no control transfer).</summary>
    public static bool FallsThrough(in Instruction i) =>
        i.Mnemonic is not (Mnemonic.Iret or Mnemonic.Iretd or Mnemonic.Sysexit or Mnemonic.Sysenter or Mnemonic.Retf or Mnemonic.Jmp or Mnemonic.Call);

    /// <summary>True if the instruction writes memory (a candidate for adaptive translation).</summary>
    public static bool WritesMemory(in Instruction i) => i.Op0Kind == OpKind.Memory &&
        i.Mnemonic is Mnemonic.Mov or Mnemonic.Xchg or Mnemonic.Cmpxchg or Mnemonic.Add or Mnemonic.Sub or Mnemonic.And or
            Mnemonic.Or or Mnemonic.Xor or Mnemonic.Adc or Mnemonic.Sbb or Mnemonic.Inc or Mnemonic.Dec;

    private static bool IsControlOrDebugRegister(in Instruction i) =>
        (i.Op0Kind == OpKind.Register && (i.Op0Register.IsCR() || i.Op0Register.IsDR() || i.Op0Register.IsTR())) ||
        (i.Op1Kind == OpKind.Register && (i.Op1Register.IsCR() || i.Op1Register.IsDR() || i.Op1Register.IsTR()));

    /// <summary>True if the instruction names %gs: as a register, or as the segment of a memory operand.</summary>
    private static bool UsesGs(in Instruction i)
    {
        if (i.Mnemonic == Mnemonic.Lgs) return true;
        for (int op = 0; op < i.OpCount; op++)
        {
            var kind = i.GetOpKind(op);
            if (kind == OpKind.Register && i.GetOpRegister(op) == Register.GS) return true;
            if (kind is OpKind.Memory or OpKind.MemorySegSI or OpKind.MemorySegESI or OpKind.MemorySegDI or OpKind.MemorySegEDI && i.MemorySegment == Register.GS)
                return true;
        }
        return false;
    }
}
