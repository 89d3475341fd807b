using VirtBench.Workloads.Assembly;

namespace VirtBench.Workloads.Kernel;

/// <summary>The whole guest kernel: every subsystem emitted into one image at the multiboot load address.</summary>
internal static class GuestKernel
{
    /// <summary>Where the kernel's code starts (just after the multiboot header).</summary>
    public static uint Origin => Machine.Platform.KernelLoadAddress + Machine.Multiboot.HeaderSize;

    /// <summary>Assembles the kernel with its embedded programs for a pv-ops flavor.</summary>
    public static AssembledCode Assemble(PvOps.PvOps pv, KernelInputs inputs) => CodeBuilder.Build(Origin, k =>
    {
        pv.Attach(k);
        var c = new KernelContext(k, pv, inputs);
        Entry.Emit(c);
        Traps.Emit(c);
        Syscalls.Emit(c);
        UserCopy.Emit(c);
        Scheduler.Emit(c);
        Memory.FrameAllocator.Emit(c);
        Memory.PageTables.Emit(c);
        Memory.AddressSpaces.Emit(c);
        Memory.Faults.Emit(c);
        Memory.Mappings.Emit(c);
        Files.Emit(c);
        Pipes.Emit(c);
        Exec.Emit(c);
        Drivers.Emit(c);
        KernelBench.Emit(c);
        pv.EmitSupport();
    });
}
