using Iced.Intel;
using VirtBench.Machine.Monitor;

namespace VirtBench.Engines.Vmm;

/// <summary>
/// The sensitive but unprivileged instructions of IA-32 (Robin and Irvine's list, as the CPU's
/// <see cref="SensitiveMode"/> covers them): pushf, popf, sgdt, sidt, sldt, str, smsw, lar, lsl, verr, verw, mov and
/// push of CS or SS, iret. At CPL &gt; 0 they run without trapping on real x86 and reveal or ignore privileged state.
/// </summary>
public static class SensitiveInstructions
{
    /// <summary>True if the instruction is on the list.</summary>
    public static bool Contains(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Pushf or Mnemonic.Pushfd or Mnemonic.Popf or Mnemonic.Popfd or Mnemonic.Sgdt or Mnemonic.Sidt or
            Mnemonic.Sldt or Mnemonic.Str or Mnemonic.Smsw or Mnemonic.Lar or Mnemonic.Lsl or Mnemonic.Verr or
            Mnemonic.Verw or Mnemonic.Iret or Mnemonic.Iretd => true,
        Mnemonic.Mov => i.Op1Kind == OpKind.Register && i.Op1Register is Register.CS or Register.SS,
        Mnemonic.Push => i.Op0Kind == OpKind.Register && i.Op0Register is Register.CS or Register.SS,
        _ => false,
    };
}
