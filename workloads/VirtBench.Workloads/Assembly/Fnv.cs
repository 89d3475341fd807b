using Iced.Intel;

namespace VirtBench.Workloads.Assembly;

/// <summary>
/// The checksum every workload reports: 32-bit FNV-1 over dwords, h = (h ^ v) * 16777619 starting at 2166136261.
/// The same function is emitted into guest code and computed in C# for the expected results.
/// </summary>
public static class Fnv
{
    /// <summary>The initial value.</summary>
    public const uint Offset = 2166136261;

    /// <summary>The multiplier.</summary>
    public const uint Prime = 16777619;

    /// <summary>Mixes one value into the checksum.</summary>
    public static uint Mix(uint h, uint v) => unchecked((h ^ v) * Prime);

    /// <summary>Emits h = (h ^ v) * Prime.</summary>
    internal static void Emit(Assembler a, AssemblerRegister32 h, AssemblerRegister32 v)
    {
        a.xor(h, v);
        a.imul(h, h, unchecked((int)Prime));
    }
}
