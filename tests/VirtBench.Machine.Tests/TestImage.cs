using Iced.Intel;
using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests;

/// <summary>Builds small multiboot images from Iced assembly, for machine tests that need no kernel.</summary>
internal static class TestImage
{
    /// <summary>Where the code of a test image starts.</summary>
    public const uint CodeBase = GuestProgram.CodeBase;

    /// <summary>Assembles <paramref name="emit"/> at <see cref="CodeBase"/> and wraps it in a multiboot image.</summary>
    public static GuestImage Build(Action<Assembler> emit, string name = "test") =>
        GuestProgram.Build(p => emit(p.Asm), name).Image;

    /// <summary>Emits: out 0xF4 with <paramref name="status"/> (QEMU exit status status*2+1).</summary>
    public static void Exit(Assembler a, uint status = 0)
    {
        a.mov(eax, status);
        a.@out(0xF4, eax);
    }

    /// <summary>Emits: write the byte in AL to COM1.</summary>
    public static void PutAl(Assembler a)
    {
        a.mov(dx, (ushort)Platform.Com1Port);
        a.@out(dx, al);
    }
}
