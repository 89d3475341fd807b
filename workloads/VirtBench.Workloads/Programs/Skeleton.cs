using Iced.Intel;
using VirtBench.Workloads.Assembly;
using VirtBench.Workloads.Kernel;
using VirtBench.Workloads.User;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Programs;

/// <summary>
/// What every workload program shares: the checksum register (EDI, starting at the FNV offset), the measured
/// region, the result line and a clean exit; and the common "loop N times around one operation" shape.
/// </summary>
internal static class Skeleton
{
    /// <summary>EDI = FNV offset; opens the measured region.</summary>
    public static void Begin(UserCode u, ulong operations)
    {
        u.A.mov(edi, unchecked((int)Fnv.Offset));
        u.BenchBegin(operations);
    }

    /// <summary>Closes the measured region.</summary>
    public static void End(UserCode u) => u.BenchEnd();

    /// <summary>Prints the result line with the checksum in EDI and exits 0.</summary>
    public static void Report(UserCode u, string name, ulong operations)
    {
        u.Result(name, operations, edi);
        u.Exit(0);
    }

    /// <summary>
    /// init: measured loop with ESI = iterations..1 around <paramref name="body"/>, which must leave ESI and EDI
    /// intact (it may mix into EDI).
    /// </summary>
    public static IReadOnlyList<GuestProgram> Loop(string name, uint iterations, Action<UserCode> body, Action<UserCode>? setup = null) =>
    [
        new GuestProgram(name, u =>
        {
            setup?.Invoke(u);
            Begin(u, iterations);
            u.A.mov(esi, iterations);
            var loop = u.NewLabel();
            u.Bind(ref loop);
            body(u);
            u.A.dec(esi);
            u.A.jnz(loop);
            End(u);
            Report(u, name, iterations);
        }),
    ];

    /// <summary>
    /// init: measured loop with ESI = iterations..1: fork; the child runs <paramref name="child"/> (which must exit);
    /// the parent waits and mixes the child's wait status.
    /// </summary>
    public static IReadOnlyList<GuestProgram> ForkWaitLoop(string name, uint iterations, Action<UserCode> child, params GuestProgram[] others) =>
        ForkWaitLoop(name, iterations, setup: null, child, others);

    /// <summary>
    /// <see cref="ForkWaitLoop(string, uint, Action{UserCode}, GuestProgram[])"/> with a <paramref name="setup"/> run
    /// before the measured region (e.g. to give the parent a working set that every fork copies).
    /// </summary>
    public static IReadOnlyList<GuestProgram> ForkWaitLoop(string name, uint iterations, Action<UserCode>? setup, Action<UserCode> child, params GuestProgram[] others) =>
    [
        new GuestProgram(name, u =>
        {
            var a = u.A;
            uint status = Variable(u, "status");
            setup?.Invoke(u);
            Begin(u, iterations);
            a.mov(esi, iterations);
            var loop = u.NewLabel();
            var parent = u.NewLabel();
            u.Bind(ref loop);
            u.Int80(Sys.Fork);
            a.test(eax, eax);
            a.jnz(parent);
            child(u);
            u.Bind(ref parent);
            ExpectSuccess(u, "fork");
            u.Call(Sys.WaitPid, -1, status);
            ExpectSuccess(u, "waitpid");
            a.mov(eax, At(u, "status"));
            u.Mix(edi, eax);
            a.dec(esi);
            a.jnz(loop);
            End(u);
            Report(u, name, iterations);
        }),
        .. others,
    ];

    /// <summary>close(the descriptor stored at a program variable + offset).</summary>
    public static void CloseAt(UserCode u, string variable, int offset = 0)
    {
        u.A.mov(ebx, At(u, variable, offset));
        u.Int80(Sys.Close);
    }

    /// <summary>The checksum of values mixed for i = iterations down to 1.</summary>
    public static uint Checksum(uint iterations, Func<uint, uint> valueOf)
    {
        uint h = Fnv.Offset;
        for (uint i = iterations; i >= 1; i--) h = Fnv.Mix(h, valueOf(i));
        return h;
    }

    /// <summary>Stops the program with a message and status 2 unless EAX equals <paramref name="expected"/>.</summary>
    public static void Expect(UserCode u, Arg expected, string what)
    {
        var ok = u.NewLabel();
        if (expected.Register is { } r) u.A.cmp(eax, r);
        else { expected.MoveTo(u.A, edx); u.A.cmp(eax, edx); }
        u.A.je(ok);
        u.Print($"{what} failed: ", UserCode.Hex(eax), "\n");
        u.Exit(2);
        u.Bind(ref ok);
    }

    /// <summary>Stops the program with a message and status 2 if EAX is negative (an errno).</summary>
    public static void ExpectSuccess(UserCode u, string what)
    {
        var ok = u.NewLabel();
        u.A.test(eax, eax);
        u.A.jns(ok);
        u.Print($"{what} failed: ", UserCode.Hex(eax), "\n");
        u.Exit(2);
        u.Bind(ref ok);
    }

    /// <summary>A dword variable in the program's data; its address.</summary>
    public static uint Variable(UserCode u, string name) => u.Buffer(name, 4);

    /// <summary>The memory operand of a program variable.</summary>
    public static AssemblerMemoryOperand At(UserCode u, string name, int offset = 0) => __dword_ptr[u.K.Addr(name) + offset];
}
