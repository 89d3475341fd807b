namespace VirtBench.Engines.Vmm;

/// <summary>
/// What an engine does when an emulated instruction changes state beyond the virtual CPU: the MMU's view of the
/// guest's tables, the real descriptor tables, interrupt delivery, idling. <see cref="InstructionEmulator"/> has
/// already updated <see cref="VirtualCpu"/> when it calls these.
/// </summary>
public interface IEmulationHost
{
    /// <summary>The guest loaded CR3 (<see cref="VirtualCpu.Cr3"/>).</summary>
    void Cr3Loaded();

    /// <summary>The guest wrote CR0 or CR4 (<paramref name="register"/>); <paramref name="previous"/> is the old value.</summary>
    void ControlRegisterWritten(int register, uint previous);

    /// <summary>The guest's invlpg of a linear address.</summary>
    void PageInvalidated(uint linear);

    /// <summary>The guest loaded a GDT (<see cref="VirtualCpu.Gdtr"/>).</summary>
    void GdtLoaded();

    /// <summary>The guest's interrupt flag went from 0 to 1 (held interrupts may be delivered now).</summary>
    void InterruptsEnabled();

    /// <summary>The guest halted with its interrupts enabled: idle until the next interrupt.</summary>
    void Halted();
}
