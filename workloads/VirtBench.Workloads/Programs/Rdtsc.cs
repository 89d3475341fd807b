using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>rdtsc: rdtsc in a user loop.</summary>
internal static class Rdtsc
{
    public static Workload Definition { get; } = NanoLoops.UserLoop("rdtsc", "rdtsc in user mode (values never printed): time-stamp counter virtualization",
        250_000, u =>
        {
            u.A.rdtsc();
            u.Mix(edi, esi);
        }, i => i, mixesItself: true);
}
