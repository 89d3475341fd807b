using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>cpuid: cpuid in a user loop.</summary>
internal static class Cpuid
{
    public static Workload Definition { get; } = NanoLoops.UserLoop("cpuid", "cpuid in user mode (leaf 0; values never printed): an unconditional VM exit",
        250_000, u =>
        {
            u.A.xor(eax, eax);
            u.A.cpuid();
            u.Mix(edi, esi);
        }, i => i, mixesItself: true);
}
