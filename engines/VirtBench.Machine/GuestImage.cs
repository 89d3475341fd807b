namespace VirtBench.Machine;

/// <summary>
/// A bootable guest: a multiboot v1 file (the same bytes that <c>qemu-system-i386 -kernel</c> boots),
/// with the name and symbols its builder knew, for reports and diagnostics.
/// </summary>
public sealed class GuestImage
{
    /// <summary>Wraps multiboot file bytes; the header is validated when the image is loaded.</summary>
    public GuestImage(byte[] bytes, string name, KernelFlavor flavor = KernelFlavor.Native, GuestSymbols? symbols = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Bytes = bytes;
        Name = name;
        Flavor = flavor;
        Symbols = symbols ?? GuestSymbols.Empty;
    }

    /// <summary>The multiboot file as it would be written to disk.</summary>
    public byte[] Bytes { get; }

    /// <summary>A short name for messages (e.g. the workload).</summary>
    public string Name { get; }

    /// <summary>The kernel build in this image.</summary>
    public KernelFlavor Flavor { get; }

    /// <summary>Guest addresses of named routines (may be empty).</summary>
    public GuestSymbols Symbols { get; }
}
