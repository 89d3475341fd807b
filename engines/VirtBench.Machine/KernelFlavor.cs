namespace VirtBench.Machine;

/// <summary>Which build of the guest kernel an engine needs (DESIGN.md section 5, pv-ops).</summary>
public enum KernelFlavor
{
    /// <summary>The pv-ops seam emits privileged instructions: runs on bare metal, QEMU and most engines.</summary>
    Native,

    /// <summary>The pv-ops seam emits hypercalls (<c>int 0x82</c>) and shared-page operations: the paravirt engine.</summary>
    Paravirtual,
}
