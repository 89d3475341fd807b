using VirtBench.Workloads.Assembly;
using VirtBench.Workloads.Kernel;
using VirtBench.Workloads.User;

namespace VirtBench.Workloads;

/// <summary>A user program embedded in an image: a name and the code that emits it (linked at 0x40001000).</summary>
internal sealed record GuestProgram(string Name, Action<UserCode> Emit)
{
    /// <summary>Assembles the program with the runtime routines it uses.</summary>
    public AssembledCode Assemble() => CodeBuilder.Build(Layout.ProgramBase, k =>
    {
        var code = new UserCode(k);
        Emit(code);
        code.Finish();
    });
}
