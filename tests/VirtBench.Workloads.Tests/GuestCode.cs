using Iced.Intel;
using VirtBench.Workloads.Assembly;

namespace VirtBench.Workloads.Tests;

/// <summary>Disassembly of assembled guest code (its instructions, not its data) and what counts as sensitive.</summary>
internal static class GuestCode
{
    /// <summary>Decodes [Origin, TextEnd) linearly.</summary>
    public static List<Instruction> Instructions(AssembledCode code)
    {
        var decoder = Decoder.Create(32, new ByteArrayCodeReader(code.Bytes, 0, (int)(code.TextEnd - code.Origin)));
        decoder.IP = code.Origin;
        var list = new List<Instruction>();
        while (decoder.IP < code.TextEnd) list.Add(decoder.Decode());
        return list;
    }

    /// <summary>Instructions that are privileged, or sensitive without being privileged (Popek and Goldberg), on IA-32.</summary>
    private static readonly HashSet<Mnemonic> SensitiveMnemonics =
    [
        Mnemonic.Cli, Mnemonic.Sti, Mnemonic.Pushf, Mnemonic.Pushfd, Mnemonic.Popf, Mnemonic.Popfd, Mnemonic.Hlt,
        Mnemonic.In, Mnemonic.Out, Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd, Mnemonic.Outsb, Mnemonic.Outsw, Mnemonic.Outsd,
        Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Lldt, Mnemonic.Ltr, Mnemonic.Sgdt, Mnemonic.Sidt, Mnemonic.Sldt, Mnemonic.Str,
        Mnemonic.Smsw, Mnemonic.Lmsw, Mnemonic.Clts, Mnemonic.Invlpg, Mnemonic.Invd, Mnemonic.Wbinvd,
        Mnemonic.Wrmsr, Mnemonic.Rdmsr, Mnemonic.Iret, Mnemonic.Iretd, Mnemonic.Sysexit, Mnemonic.Sysenter,
        Mnemonic.Syscall, Mnemonic.Sysret, Mnemonic.Lar, Mnemonic.Lsl, Mnemonic.Verr, Mnemonic.Verw,
        Mnemonic.Cpuid, Mnemonic.Rdtsc, Mnemonic.Rdtscp, Mnemonic.Rdpmc, Mnemonic.Int, Mnemonic.Int1, Mnemonic.Int3,
        Mnemonic.Into, Mnemonic.Vmcall, Mnemonic.Retf, Mnemonic.Lss, Mnemonic.Lds, Mnemonic.Les,
    ];

    /// <summary>Instructions that fault (#GP) outside ring 0 on IA-32 (I/O ones with IOPL 0 and no I/O bitmap).</summary>
    private static readonly HashSet<Mnemonic> PrivilegedMnemonics =
    [
        Mnemonic.Cli, Mnemonic.Sti, Mnemonic.Hlt, Mnemonic.In, Mnemonic.Out, Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd,
        Mnemonic.Outsb, Mnemonic.Outsw, Mnemonic.Outsd, Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Lldt, Mnemonic.Ltr,
        Mnemonic.Lmsw, Mnemonic.Clts, Mnemonic.Invlpg, Mnemonic.Invd, Mnemonic.Wbinvd, Mnemonic.Wrmsr, Mnemonic.Rdmsr,
        Mnemonic.Sysexit, Mnemonic.Rdpmc,
    ];

    /// <summary>True for instructions that only ring 0 may execute (including moves of control and debug registers).</summary>
    public static bool IsPrivileged(in Instruction instruction)
    {
        if (PrivilegedMnemonics.Contains(instruction.Mnemonic)) return true;
        for (int i = 0; i < instruction.OpCount; i++)
            if (instruction.GetOpKind(i) == OpKind.Register && instruction.GetOpRegister(i) is var r && (r.IsCR() || r.IsDR() || r.IsTR()))
                return true;
        return false;
    }

    /// <summary>True for privileged or sensitive instructions (including moves of control, debug and CS/SS registers, far transfers).</summary>
    public static bool IsSensitive(in Instruction instruction)
    {
        if (SensitiveMnemonics.Contains(instruction.Mnemonic)) return true;
        if (instruction.FlowControl is FlowControl.UnconditionalBranch or FlowControl.Call
            && instruction.Op0Kind is OpKind.FarBranch16 or OpKind.FarBranch32) return true;
        for (int i = 0; i < instruction.OpCount; i++)
        {
            if (instruction.GetOpKind(i) != OpKind.Register) continue;
            var register = instruction.GetOpRegister(i);
            if (register.IsCR() || register.IsDR() || register.IsTR()) return true;
            if (register is Register.CS or Register.SS) return true;
        }
        return false;
    }
}
