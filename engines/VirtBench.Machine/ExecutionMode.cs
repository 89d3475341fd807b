namespace VirtBench.Machine;

/// <summary>
/// Where a retired instruction came from: the guest's own code at a privilege level, or the
/// translation cache (the CPU's second instruction source, used by the binary translator).
/// </summary>
public enum ExecutionMode
{
    /// <summary>Guest code fetched through CS:EIP at CPL 0.</summary>
    Ring0,
    /// <summary>Guest code fetched through CS:EIP at CPL 1 (a deprivileged guest kernel).</summary>
    Ring1,
    /// <summary>Guest code fetched through CS:EIP at CPL 2.</summary>
    Ring2,
    /// <summary>Guest code fetched through CS:EIP at CPL 3 (user programs).</summary>
    Ring3,
    /// <summary>Code fetched from the translation cache (binary translation).</summary>
    Translated,
}
