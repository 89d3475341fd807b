using Iced.Intel;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Guest;

/// <summary>
/// A guest that runs named cases one after another, each expected to raise one exception (or none), under a
/// <see cref="TestKernel"/> with <see cref="ExceptionAction.ReportAndResume"/>. Each case prints "case NAME", then
/// either the kernel's <see cref="ExceptionReport"/> line or "no fault"; the script knows the exact expected
/// output, so a test can check our machine without QEMU and compare with QEMU where it is installed.
/// </summary>
internal sealed class FaultScript
{
    private readonly List<Case> _cases = [];

    /// <summary>What a case emits: its code, with <see cref="CaseCode.MarkFault"/> just before the instruction whose address the frame saves.</summary>
    public delegate void Emitter(CaseCode code);

    private sealed record Case(string Name, Emitter Emit, int? Vector, uint Error, bool User, uint? Cr2, uint? Eip, string? QemuDiffers);

    /// <summary>
    /// Adds a case expected to raise <paramref name="vector"/> with <paramref name="error"/> in ring 0 or 3, with
    /// CR2 = <paramref name="cr2"/> for #PF, and the marked instruction's address saved (or <paramref name="eip"/>,
    /// for a fault on instruction fetch). <paramref name="qemuDiffers"/> says why QEMU does not do what the
    /// architecture says here; such cases are left out of the image built for comparing with QEMU.
    /// </summary>
    public FaultScript Expect(string name, int vector, uint error, Emitter emit, bool user = false, uint? cr2 = null, uint? eip = null,
        string? qemuDiffers = null)
    {
        _cases.Add(new Case(name, emit, vector, error, user, cr2, eip, qemuDiffers));
        return this;
    }

    /// <summary>Adds a case expected to run without an exception.</summary>
    public FaultScript ExpectNoFault(string name, Emitter emit)
    {
        _cases.Add(new Case(name, emit, null, 0, false, null, null, null));
        return this;
    }

    /// <summary>
    /// Assembles the script (for comparing with QEMU: without the cases QEMU does differently); returns the image
    /// and the output it must print.
    /// </summary>
    public (AssembledGuest Guest, string Expected) Build(string name, KernelOptions? options = null, bool forQemu = false)
    {
        var cases = forQemu ? _cases.Where(c => c.QemuDiffers is null).ToList() : _cases;
        var marks = new Label[cases.Count];
        var guest = TestKernel.Build(k =>
        {
            for (int i = 0; i < cases.Count; i++)
            {
                var c = cases[i];
                var resume = k.Program.CreateLabel($"resume_{i}");
                k.Serial.Print(k.Program, $"case {c.Name}\n");
                k.ResumeAt(resume);
                var code = new CaseCode(k);
                c.Emit(code);
                marks[i] = code.Mark;
                k.Serial.Print(k.Program, "no fault\n");
                k.Program.Place(ref resume);
            }
            k.Serial.Print(k.Program, "done\n");
            k.Exit(0);
        }, (options ?? new KernelOptions()) with { OnException = ExceptionAction.ReportAndResume }, name);

        var expected = new System.Text.StringBuilder();
        uint cr2 = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            expected.Append($"case {c.Name}\n");
            if (c.Vector is not int vector) { expected.Append("no fault\n"); continue; }
            if (c.Cr2 is uint faultAddress) cr2 = faultAddress;
            var report = new ExceptionReport(vector, c.Error, c.Eip ?? guest.Address(marks[i]), c.User ? UserCode32 : KernelCode, cr2);
            expected.Append(report).Append('\n');
        }
        expected.Append("done\n");
        return (guest, expected.ToString());
    }
}

/// <summary>The code of one <see cref="FaultScript"/> case being emitted.</summary>
internal sealed class CaseCode(TestKernel kernel)
{
    private Label _mark;

    /// <summary>The kernel (and through it the assembler).</summary>
    public TestKernel Kernel { get; } = kernel;

    /// <summary>The assembler.</summary>
    public Assembler Asm => Kernel.Asm;

    /// <summary>The marked instruction (see <see cref="MarkFault"/>).</summary>
    public Label Mark => _mark;

    /// <summary>Marks the next instruction as the one whose address the exception frame must save.</summary>
    public void MarkFault()
    {
        _mark = Kernel.Program.CreateLabel("fault");
        Kernel.Program.Place(ref _mark);
    }

    /// <summary>Emits an iret to ring 3 that continues right here, in the image (paging, if on, maps it user-accessible).</summary>
    public void EnterUserMode()
    {
        var user = Kernel.Program.CreateLabel("user");
        Kernel.EnterUserMode(user);
        Kernel.Program.Place(ref user);
    }
}
