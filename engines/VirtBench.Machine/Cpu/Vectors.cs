namespace VirtBench.Machine.Cpu;

/// <summary>Exception vectors.</summary>
public static class Vectors
{
    /// <summary>Divide error.</summary>
    public const int DE = 0;
    /// <summary>Debug.</summary>
    public const int DB = 1;
    /// <summary>Breakpoint (int3).</summary>
    public const int BP = 3;
    /// <summary>Overflow (into).</summary>
    public const int OF = 4;
    /// <summary>Bound range exceeded.</summary>
    public const int BR = 5;
    /// <summary>Invalid opcode.</summary>
    public const int UD = 6;
    /// <summary>Device not available.</summary>
    public const int NM = 7;
    /// <summary>Double fault.</summary>
    public const int DF = 8;
    /// <summary>Invalid TSS.</summary>
    public const int TS = 10;
    /// <summary>Segment not present.</summary>
    public const int NP = 11;
    /// <summary>Stack-segment fault.</summary>
    public const int SS = 12;
    /// <summary>General protection.</summary>
    public const int GP = 13;
    /// <summary>Page fault.</summary>
    public const int PF = 14;

    /// <summary>True for the vectors that push an error code.</summary>
    public static bool HasErrorCode(int vector) => vector is DF or TS or NP or SS or GP or PF or 17;

    /// <summary>The exception's mnemonic, e.g. "#GP".</summary>
    public static string Name(int vector) => vector switch
    {
        0 => "#DE", 1 => "#DB", 2 => "NMI", 3 => "#BP", 4 => "#OF", 5 => "#BR", 6 => "#UD", 7 => "#NM", 8 => "#DF",
        10 => "#TS", 11 => "#NP", 12 => "#SS", 13 => "#GP", 14 => "#PF", 16 => "#MF", 17 => "#AC", 18 => "#MC",
        _ => $"vector {vector}",
    };
}
