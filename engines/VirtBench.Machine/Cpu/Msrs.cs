namespace VirtBench.Machine.Cpu;

/// <summary>The model-specific registers this CPU implements (rdmsr/wrmsr of any other raises #GP(0)).</summary>
public static class Msrs
{
    /// <summary>IA32_TIME_STAMP_COUNTER (read only here).</summary>
    public const uint Tsc = 0x10;
    /// <summary>IA32_SYSENTER_CS.</summary>
    public const uint SysenterCs = 0x174;
    /// <summary>IA32_SYSENTER_ESP.</summary>
    public const uint SysenterEsp = 0x175;
    /// <summary>IA32_SYSENTER_EIP.</summary>
    public const uint SysenterEip = 0x176;
}
