using Iced.Intel;
using VirtBench.Workloads.Assembly;
using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.User;

/// <summary>
/// Emits a user program (ring 3, linked at <see cref="Layout.ProgramBase"/>): system calls, the checksum step,
/// the bench-port calls, and formatted console output through a small runtime linked on first use.
/// </summary>
/// <remarks>
/// System calls preserve every register but EAX. The output helpers preserve every register.
/// </remarks>
internal sealed class UserCode
{
    private const int LineBuffer = 256;
    private readonly HashSet<string> _runtime = [];

    public UserCode(CodeBuilder builder) => K = builder;

    /// <summary>The builder.</summary>
    public CodeBuilder K { get; }

    /// <summary>The raw assembler.</summary>
    public Assembler A => K.A;

    /// <summary>A fresh local label.</summary>
    public Label NewLabel() => K.NewLabel();

    /// <summary>Binds a local label.</summary>
    public void Bind(ref Label label) => K.Bind(ref label);

    /// <summary>EAX = number; int 0x80. The arguments must already be in EBX, ECX, EDX, ESI, EDI.</summary>
    public void Int80(uint number)
    {
        A.mov(eax, number);
        A.@int(0x80);
    }

    /// <summary>EAX = number; call the vDSO's sysenter stub.</summary>
    public void Sysenter(uint number)
    {
        A.mov(eax, number);
        A.call(Layout.VdsoAddress);
    }

    /// <summary>
    /// A system call through int 0x80 with arguments (immediates or registers) loaded into EBX, ECX, EDX.
    /// Arguments are moved through the stack when a source register would be overwritten first.
    /// </summary>
    public void Call(uint number, params Arg[] args)
    {
        AssemblerRegister32[] targets = [ebx, ecx, edx, esi, edi];
        bool hazard = args.Select((arg, i) => arg.Register is { } r && targets.Take(i).Contains(r)).Any(x => x);
        if (hazard)
        {
            for (int i = args.Length - 1; i >= 0; i--) args[i].Push(A);
            for (int i = 0; i < args.Length; i++) A.pop(targets[i]);
        }
        else
        {
            for (int i = 0; i < args.Length; i++) args[i].MoveTo(A, targets[i]);
        }
        Int80(number);
    }

    /// <summary>exit(status).</summary>
    public void Exit(Arg status) => Call(Sys.Exit, status);

    /// <summary>Opens the measured region with its operation count.</summary>
    public void BenchBegin(ulong operations) => Call(Sys.Bench, (int)Machine.Platform.BenchBegin, checked((uint)operations));

    /// <summary>Closes the measured region.</summary>
    public void BenchEnd() => Call(Sys.Bench, (int)Machine.Platform.BenchEnd);

    /// <summary>h = (h ^ v) * FNV prime.</summary>
    public void Mix(AssemblerRegister32 h, AssemblerRegister32 v) => Fnv.Emit(A, h, v);

    /// <summary>Zeroed memory in the program's data; its address.</summary>
    public uint Buffer(string name, int bytes)
    {
        K.Zeros(name, bytes);
        return K.Addr(name);
    }

    /// <summary>Prints one write(1, ...) made of text and register values (<see cref="Dec"/>, <see cref="Hex"/>).</summary>
    public void Print(params object[] parts)
    {
        AssemblerRegister32[] saved = [eax, ebx, ecx, edx, esi, edi, ebp];
        foreach (var r in saved) A.push(r);
        int Slot(AssemblerRegister32 r) => (saved.Length - 1 - Array.IndexOf(saved, r)) * 4;
        A.mov(edi, K.Addr("rt.line"));
        foreach (var part in parts)
        {
            switch (part)
            {
                case string text:
                    A.mov(esi, K.String(text));
                    UseRuntime("rt.append_str");
                    break;
                case Value value:
                    A.mov(eax, __dword_ptr[esp + Slot(value.Register)]);
                    UseRuntime(value.Hexadecimal ? "rt.append_hex" : "rt.append_dec");
                    break;
                default:
                    throw new ArgumentException($"cannot print a {part.GetType().Name}");
            }
        }
        UseRuntime("rt.flush_line");
        for (int i = saved.Length - 1; i >= 0; i--) A.pop(saved[i]);
    }

    /// <summary>The workload's result line: <c>RESULT workload=NAME ops=N checksum=0xXXXXXXXX</c>.</summary>
    public void Result(string workload, ulong operations, AssemblerRegister32 checksum) =>
        Print($"RESULT workload={workload} ops={operations} checksum=", Hex(checksum), "\n");

    /// <summary>A register printed in decimal.</summary>
    public static Value Dec(AssemblerRegister32 register) => new(register, false);

    /// <summary>A register printed as 0x and eight hex digits.</summary>
    public static Value Hex(AssemblerRegister32 register) => new(register, true);

    /// <summary>A register value to print.</summary>
    public readonly record struct Value(AssemblerRegister32 Register, bool Hexadecimal);

    private void UseRuntime(string routine)
    {
        _runtime.Add(routine);
        K.Call(routine);
    }

    /// <summary>Emits the runtime routines the program used; called once after the program's code.</summary>
    public void Finish()
    {
        if (_runtime.Count == 0) return;
        K.Zeros("rt.line", LineBuffer);
        K.Bytes("rt.hex_digits", "0123456789abcdef"u8.ToArray());

        // rt.append_str(ESI = string, EDI = cursor).
        K.Bind("rt.append_str");
        var copy = NewLabel();
        var copied = NewLabel();
        Bind(ref copy);
        A.mov(al, __byte_ptr[esi]);
        A.test(al, al);
        A.jz(copied);
        A.mov(__byte_ptr[edi], al);
        A.inc(esi);
        A.inc(edi);
        A.jmp(copy);
        Bind(ref copied);
        A.ret();

        // rt.append_dec(EAX = value, EDI = cursor).
        K.Bind("rt.append_dec");
        A.mov(ecx, 10);
        A.push(-1);                      // end marker below the digits
        var divide = NewLabel();
        Bind(ref divide);
        A.xor(edx, edx);
        A.div(ecx);
        A.add(edx, '0');
        A.push(edx);
        A.test(eax, eax);
        A.jnz(divide);
        var emit = NewLabel();
        var emitted = NewLabel();
        Bind(ref emit);
        A.pop(eax);
        A.cmp(eax, -1);
        A.je(emitted);
        A.mov(__byte_ptr[edi], al);
        A.inc(edi);
        A.jmp(emit);
        Bind(ref emitted);
        A.ret();

        // rt.append_hex(EAX = value, EDI = cursor).
        K.Bind("rt.append_hex");
        A.mov(__word_ptr[edi], 'x' << 8 | '0');
        A.add(edi, 2);
        A.mov(ecx, 8);
        var digit = NewLabel();
        Bind(ref digit);
        A.rol(eax, 4);
        A.mov(edx, eax);
        A.and(edx, 15);
        A.mov(dl, __byte_ptr[edx + K.Addr("rt.hex_digits")]);
        A.mov(__byte_ptr[edi], dl);
        A.inc(edi);
        A.dec(ecx);
        A.jnz(digit);
        A.ret();

        // rt.flush_line(EDI = cursor): write(1, line, cursor - line).
        K.Bind("rt.flush_line");
        A.mov(edx, edi);
        A.sub(edx, K.Addr("rt.line"));
        A.mov(ecx, K.Addr("rt.line"));
        A.mov(ebx, 1);
        Int80(Sys.Write);
        A.ret();
    }
}

/// <summary>A system call argument: an immediate or a register.</summary>
internal readonly struct Arg
{
    private readonly int _immediate;

    private Arg(int immediate, AssemblerRegister32? register)
    {
        _immediate = immediate;
        Register = register;
    }

    /// <summary>The source register, or null for an immediate.</summary>
    public AssemblerRegister32? Register { get; }

    public static implicit operator Arg(int value) => new(value, null);
    public static implicit operator Arg(uint value) => new(unchecked((int)value), null);
    public static implicit operator Arg(AssemblerRegister32 register) => new(0, register);

    /// <summary>Loads the argument into a register.</summary>
    public void MoveTo(Assembler a, AssemblerRegister32 target)
    {
        if (Register is { } r) { if (r != target) a.mov(target, r); }
        else if (_immediate == 0) a.xor(target, target);
        else a.mov(target, _immediate);
    }

    /// <summary>Pushes the argument.</summary>
    public void Push(Assembler a)
    {
        if (Register is { } r) a.push(r);
        else a.push(_immediate);
    }
}
