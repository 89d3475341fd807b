using VirtBench.Machine;
using VirtBench.Workloads.Assembly;
using VirtBench.Workloads.Kernel;
using VirtBench.Workloads.Kernel.PvOps;
using VirtBench.Workloads.User;

namespace VirtBench.Workloads;

/// <summary>Builds bootable multiboot images: the guest kernel of a flavor with the programs of a workload.</summary>
public static class ImageBuilder
{
    /// <summary>The image of a workload (by name) for a kernel flavor and an iteration count.</summary>
    /// <exception cref="ArgumentException">Unknown workload or iterations out of range (one-line message).</exception>
    public static GuestImage Build(string workload, KernelFlavor flavor, uint iterations) =>
        Build(WorkloadCatalog.Get(workload), flavor, iterations);

    /// <summary>The image of a workload for a kernel flavor and an iteration count.</summary>
    public static GuestImage Build(Workload workload, KernelFlavor flavor, uint iterations)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var programs = workload.Programs(iterations);
        return BuildKernel($"{workload.Name}-{iterations}", flavor, programs).Image;
    }

    /// <summary>An image with custom programs (program 0 is init), and what the tests inspect.</summary>
    internal static KernelBuild BuildKernel(string name, KernelFlavor flavor, IReadOnlyList<GuestProgram> programs)
    {
        if (programs.Count == 0) throw new ArgumentException("an image needs at least one program (init)");
        var pv = CreatePvOps(flavor);
        var vdso = Vdso.Assemble();
        if (vdso.Bytes.Length > Layout.Page) throw new InvalidOperationException("the vDSO does not fit in a page");
        var assembled = programs.Select(p => p.Assemble()).ToArray();
        var kernel = GuestKernel.Assemble(pv, new KernelInputs(vdso, assembled));
        if (kernel.End > Layout.ImageLimit)
            throw new InvalidOperationException($"image '{name}' is too large: it ends at 0x{kernel.End:x8}, the limit is 0x{Layout.ImageLimit:x8}");
        uint loadEnd = kernel.End;
        var bytes = Multiboot.CreateImage(kernel.Bytes, kernel["kernel_entry"], Layout.BssEnd - loadEnd);
        var symbols = kernel.Symbols.Where(s => !s.Key.StartsWith("str.", StringComparison.Ordinal))
            .ToDictionary(s => s.Key, s => s.Value);
        var image = new GuestImage(bytes, name, flavor, new GuestSymbols(symbols));
        return new KernelBuild(image, kernel, vdso, assembled);
    }

    private static PvOps CreatePvOps(KernelFlavor flavor) => flavor switch
    {
        KernelFlavor.Native => new NativePvOps(),
        KernelFlavor.Paravirtual => new ParavirtualPvOps(),
        _ => throw new ArgumentException($"unknown kernel flavor '{flavor}': expected Native or Paravirtual"),
    };
}

/// <summary>A built image and its parts: the kernel's code, the vDSO and the programs.</summary>
internal sealed record KernelBuild(GuestImage Image, AssembledCode Kernel, AssembledCode Vdso, IReadOnlyList<AssembledCode> Programs);
