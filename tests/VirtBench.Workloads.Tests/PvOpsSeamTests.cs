using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Workloads.Assembly;
using VirtBench.Workloads.Kernel.PvOps;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Tests;

/// <summary>Every privileged or sensitive instruction of the kernel comes from the pv-ops seam.</summary>
public sealed class PvOpsSeamTests
{
    private static (Instruction Instruction, bool InSeam)[] SensitiveSites(AssembledCode code)
    {
        var seam = code.Ranges.Where(r => r.Tag.StartsWith(PvOps.TagPrefix, StringComparison.Ordinal)).ToArray();
        return GuestCode.Instructions(code)
            .Where(i => GuestCode.IsSensitive(i))
            .Select(i => (i, seam.Any(r => r.Contains((uint)i.IP) && r.Contains((uint)i.NextIP - 1))))
            .ToArray();
    }

    [Fact]
    public void Every_privileged_or_sensitive_kernel_instruction_lies_in_a_pv_ops_range()
    {
        var kernel = ImageBuilder.BuildKernel("server", KernelFlavor.Native, WorkloadCatalog.Get("server").Programs(5)).Kernel;
        var instructions = GuestCode.Instructions(kernel);
        Assert.DoesNotContain(instructions, i => i.Code == Code.INVALID);

        var sites = SensitiveSites(kernel);
        var outside = sites.Where(s => !s.InSeam).Select(s => $"0x{s.Instruction.IP:x8} {s.Instruction}").ToArray();
        Assert.True(outside.Length == 0, "sensitive instructions outside pv-ops:\n" + string.Join("\n", outside));

        // The check is not vacuous: the native kernel does use each kind of privileged operation.
        var used = sites.Select(s => s.Instruction.Mnemonic).ToHashSet();
        Mnemonic[] expected =
        [
            Mnemonic.Cli, Mnemonic.Sti, Mnemonic.Pushfd, Mnemonic.Popfd, Mnemonic.Hlt, Mnemonic.In, Mnemonic.Out,
            Mnemonic.Iretd, Mnemonic.Sysexit, Mnemonic.Wrmsr, Mnemonic.Invlpg, Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Ltr,
            Mnemonic.Mov, Mnemonic.Jmp,
        ];
        Assert.Empty(expected.Except(used));
    }

    [Fact]
    public void The_paravirtual_kernel_has_no_privileged_instruction_and_only_hypercalls_and_returns_in_its_seam()
    {
        var kernel = ImageBuilder.BuildKernel("server", KernelFlavor.Paravirtual, WorkloadCatalog.Get("server").Programs(5)).Kernel;
        var instructions = GuestCode.Instructions(kernel);
        Assert.DoesNotContain(instructions, i => i.Code == Code.INVALID);
        var privileged = instructions.Where(i => GuestCode.IsPrivileged(i)).Select(i => $"0x{i.IP:x8} {i}").ToArray();
        Assert.True(privileged.Length == 0, "privileged instructions in the paravirtual kernel:\n" + string.Join("\n", privileged));

        var sites = SensitiveSites(kernel);
        Assert.All(sites, s => Assert.True(s.InSeam, $"0x{s.Instruction.IP:x8} {s.Instruction} lies outside pv-ops"));
        // What remains sensitive: hypercalls, the direct iret to user mode, and loading the ring-1 segments
        // (a far jmp and mov ss). No pushf/popf: the interrupt flag lives in the shared page.
        static string Kind(Instruction i) => i.Mnemonic switch
        {
            Mnemonic.Int => $"int 0x{i.Immediate8:x2}",
            Mnemonic.Mov when i.Op0Register == Register.SS => "mov ss",
            Mnemonic.Jmp => "far jmp",
            _ => i.Mnemonic.ToString().ToLowerInvariant(),
        };
        Assert.Equal(["far jmp", "int 0x82", "iretd", "mov ss"], sites.Select(s => Kind(s.Instruction)).Distinct().Order());
    }

    [Fact]
    public void The_check_flags_a_privileged_instruction_emitted_outside_the_seam()
    {
        var pv = new NativePvOps();
        var code = CodeBuilder.Build(0x0010_0000, k =>
        {
            pv.Attach(k);
            pv.IrqDisable();
            k.A.mov(eax, cr3);
            pv.IrqEnable();
            k.A.ret();
        });
        var sites = SensitiveSites(code);
        Assert.Equal([(Mnemonic.Cli, true), (Mnemonic.Mov, false), (Mnemonic.Sti, true)],
            sites.Select(s => (s.Instruction.Mnemonic, s.InSeam)));
    }

    [Fact]
    public void User_programs_and_the_vdso_contain_no_privileged_instruction_except_the_system_call_gates()
    {
        Mnemonic[] allowed = [Mnemonic.Int, Mnemonic.Sysenter, Mnemonic.Cpuid, Mnemonic.Rdtsc];
        foreach (var workload in WorkloadCatalog.All)
        {
            var build = ImageBuilder.BuildKernel(workload.Name, KernelFlavor.Native, workload.Programs(3));
            foreach (var code in build.Programs.Append(build.Vdso))
            {
                var bad = GuestCode.Instructions(code).Where(i => GuestCode.IsSensitive(i) && !allowed.Contains(i.Mnemonic));
                Assert.True(!bad.Any(), $"{workload.Name}: {string.Join(", ", bad)}");
            }
        }
    }
}
