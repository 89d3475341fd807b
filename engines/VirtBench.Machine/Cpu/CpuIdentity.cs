namespace VirtBench.Machine.Cpu;

/// <summary>
/// What cpuid reports: a plain "GenuineIntel" family-6 processor with the features this machine implements
/// (PSE, TSC, MSR, CX8, SEP, CMOV). The guest must not print these values: QEMU reports its own.
/// </summary>
public static class CpuIdentity
{
    /// <summary>EDX feature bits of leaf 1: PSE, TSC, MSR, CX8, SEP, CMOV.</summary>
    public const uint Features = (1u << 3) | (1u << 4) | (1u << 5) | (1u << 8) | (1u << 11) | (1u << 15);

    /// <summary>The values of a leaf as (EAX, EBX, ECX, EDX).</summary>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Leaf(uint leaf) => leaf switch
    {
        0 => (1, 0x756E_6547, 0x6C65_746E, 0x4965_6E69), // "GenuineIntel" in EBX, EDX, ECX
        1 => (0x0000_0663, 0, 0, Features),
        _ => (0, 0, 0, 0),
    };
}
