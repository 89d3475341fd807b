using Iced.Intel;
using VirtBench.Machine;
using Xunit.Abstractions;

namespace VirtBench.Workloads.Tests;

/// <summary>
/// The guest uses only the integer and system instructions the simulated CPU implements (DESIGN.md section 4):
/// no FPU, MMX or SSE, no 16-bit code.
/// </summary>
public sealed class InstructionScopeTests(ITestOutputHelper output)
{
    private static readonly HashSet<Mnemonic> Implemented =
    [
        Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Lea, Mnemonic.Xchg, Mnemonic.Push, Mnemonic.Pop,
        Mnemonic.Add, Mnemonic.Adc, Mnemonic.Sub, Mnemonic.Sbb, Mnemonic.Cmp, Mnemonic.Inc, Mnemonic.Dec, Mnemonic.Neg,
        Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Not, Mnemonic.Test, Mnemonic.Shl, Mnemonic.Shr, Mnemonic.Sar,
        Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Mul, Mnemonic.Imul, Mnemonic.Div, Mnemonic.Idiv, Mnemonic.Cdq,
        Mnemonic.Movsb, Mnemonic.Movsd, Mnemonic.Stosb, Mnemonic.Stosd, Mnemonic.Scasd, Mnemonic.Cld, Mnemonic.Nop,
        Mnemonic.Call, Mnemonic.Ret, Mnemonic.Jmp, Mnemonic.Je, Mnemonic.Jne, Mnemonic.Jb, Mnemonic.Jae, Mnemonic.Jbe,
        Mnemonic.Ja, Mnemonic.Jl, Mnemonic.Jge, Mnemonic.Jle, Mnemonic.Jg, Mnemonic.Js, Mnemonic.Jns,
        Mnemonic.Int, Mnemonic.Iretd, Mnemonic.Cli, Mnemonic.Sti, Mnemonic.Pushfd, Mnemonic.Popfd, Mnemonic.Hlt,
        Mnemonic.In, Mnemonic.Out, Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Ltr, Mnemonic.Invlpg, Mnemonic.Cpuid,
        Mnemonic.Rdtsc, Mnemonic.Wrmsr, Mnemonic.Sysenter, Mnemonic.Sysexit, Mnemonic.Ud2,
    ];

    [Fact]
    public void Kernel_vdso_and_programs_use_only_implemented_32_bit_integer_and_system_instructions()
    {
        var used = new SortedSet<string>();
        foreach (var workload in WorkloadCatalog.All)
        {
            var build = ImageBuilder.BuildKernel(workload.Name, KernelFlavor.Native, workload.Programs(3));
            foreach (var code in build.Programs.Append(build.Vdso).Append(build.Kernel))
            {
                foreach (var instruction in GuestCode.Instructions(code))
                {
                    used.Add(instruction.Mnemonic.ToString());
                    Assert.True(Implemented.Contains(instruction.Mnemonic), $"{workload.Name}: 0x{instruction.IP:x8} {instruction} is outside the CPU's scope");
                    // 16-bit operand size only where the instruction's operand is 16-bit by definition (ltr, segment moves).
                    Assert.True(!instruction.HasOpMask && instruction.CodeSize == CodeSize.Code32);
                }
            }
        }
        output.WriteLine("mnemonics used: " + string.Join(" ", used));
    }
}
