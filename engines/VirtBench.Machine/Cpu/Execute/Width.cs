using System.Runtime.CompilerServices;

namespace VirtBench.Machine.Cpu.Execute;

/// <summary>
/// An operand width, as a type: handlers are generic over it, so the JIT compiles one specialized copy per
/// width with no runtime size switch.
/// </summary>
internal interface IWidth
{
    /// <summary>Bytes (1, 2, 4).</summary>
    static abstract int Bytes { get; }
    /// <summary>Width index for lazy flags (0, 1, 2).</summary>
    static abstract int Index { get; }
    /// <summary>Value mask.</summary>
    static abstract uint Mask { get; }
    /// <summary>Sign bit.</summary>
    static abstract uint Sign { get; }
    /// <summary>Reads a register of this width (8-bit: 0-3 = AL..BL, 4-7 = AH..BH).</summary>
    static abstract uint Get(Cpu c, int r);
    /// <summary>Writes a register of this width, preserving the other bits of the full register.</summary>
    static abstract void Set(Cpu c, int r, uint v);
    /// <summary>Reads memory.</summary>
    static abstract bool Read(Cpu c, int seg, uint off, out uint v);
    /// <summary>Writes memory.</summary>
    static abstract bool Write(Cpu c, int seg, uint off, uint v);
}

internal struct W8 : IWidth
{
    public static int Bytes => 1;
    public static int Index => 0;
    public static uint Mask => 0xFF;
    public static uint Sign => 0x80;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Get(Cpu c, int r) => (c.Regs[r & 3] >> ((r & 4) << 1)) & 0xFF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(Cpu c, int r, uint v)
    {
        int shift = (r & 4) << 1;
        ref uint reg = ref c.Regs[r & 3];
        reg = (reg & ~(0xFFu << shift)) | ((v & 0xFF) << shift);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Read(Cpu c, int seg, uint off, out uint v) => c.Read8(seg, off, out v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Write(Cpu c, int seg, uint off, uint v) => c.Write8(seg, off, v);
}

internal struct W16 : IWidth
{
    public static int Bytes => 2;
    public static int Index => 1;
    public static uint Mask => 0xFFFF;
    public static uint Sign => 0x8000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Get(Cpu c, int r) => c.Regs[r] & 0xFFFF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(Cpu c, int r, uint v)
    {
        ref uint reg = ref c.Regs[r];
        reg = (reg & 0xFFFF_0000) | (v & 0xFFFF);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Read(Cpu c, int seg, uint off, out uint v) => c.Read16(seg, off, out v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Write(Cpu c, int seg, uint off, uint v) => c.Write16(seg, off, v);
}

internal struct W32 : IWidth
{
    public static int Bytes => 4;
    public static int Index => 2;
    public static uint Mask => 0xFFFF_FFFF;
    public static uint Sign => 0x8000_0000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Get(Cpu c, int r) => c.Regs[r];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(Cpu c, int r, uint v) => c.Regs[r] = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Read(Cpu c, int seg, uint off, out uint v) => c.Read32(seg, off, out v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Write(Cpu c, int seg, uint off, uint v) => c.Write32(seg, off, v);
}
