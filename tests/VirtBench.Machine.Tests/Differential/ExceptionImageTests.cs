using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Cpu.Vectors;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>
/// Fixed images that raise #DE, #GP (and its neighbours #NP, #UD, #BP, #OF, software interrupts) and #PF,
/// printing vector, error code, saved EIP and CS, and CR2 for each. Our machine must print exactly the
/// architectural values; where QEMU is installed, QEMU must print the same.
/// </summary>
public class ExceptionImageTests
{
    public static TheoryData<string> Images() => new(Scripts.Keys);

    private static readonly Dictionary<string, Func<bool, (AssembledGuest Guest, string Expected)>> Scripts = new()
    {
        ["divide-error"] = forQemu => DivideErrors.Build("divide-error", forQemu: forQemu),
        ["general-protection"] = forQemu => GeneralProtection.Build("general-protection", forQemu: forQemu),
        ["page-fault"] = forQemu => PageFaults.Build("page-fault", new KernelOptions { Paging = true, WriteProtect = true }, forQemu),
    };

    private const string QemuSkipsSegmentChecks = "QEMU's TCG does not check segment rights and limits on data accesses";

    [Theory]
    [MemberData(nameof(Images))]
    public void PrintsTheArchitecturalValues(string image)
    {
        var (guest, expected) = Scripts[image](false);
        var pc = new Pc(guest.Image, new MachineOptions { InstructionBudget = QemuOracle.Budget });
        var outcome = pc.Run();
        Assert.Equal(expected, pc.Uart.Output);
        Assert.True(outcome.IsSuccess, outcome.ToString());
    }

    [SkippableTheory]
    [MemberData(nameof(Images))]
    public void MatchesQemu(string image)
    {
        QemuOracle.SkipIfUnavailable();
        var (guest, expected) = Scripts[image](true);
        var (qemu, ours, _) = QemuOracle.Run(guest.Image);
        Assert.Equal(expected, qemu); // the script's expectations are QEMU's too
        Assert.Equal(qemu, ours);
    }

    private static FaultScript DivideErrors => new FaultScript()
        .Expect("div ecx by zero", DE, 0, c => { c.Asm.xor(ecx, ecx); c.MarkFault(); c.Asm.div(ecx); })
        .Expect("div cl overflow", DE, 0, c => { c.Asm.mov(ax, 0x1000); c.Asm.mov(cl, 0x10); c.MarkFault(); c.Asm.div(cl); })
        .Expect("div word [mem] by zero", DE, 0, c =>
        {
            c.Asm.mov(__word_ptr[Scratch], 0);
            c.MarkFault();
            c.Asm.div(__word_ptr[Scratch]);
        })
        .Expect("idiv -2^31 by -1", DE, 0, c =>
        {
            c.Asm.mov(eax, 0x8000_0000u); c.Asm.cdq(); c.Asm.mov(ebx, -1);
            c.MarkFault();
            c.Asm.idiv(ebx);
        })
        .Expect("idiv -32768 by -1 (8-bit)", DE, 0, c => { c.Asm.mov(ax, 0x8000); c.Asm.mov(bl, 0xFF); c.MarkFault(); c.Asm.idiv(bl); })
        .ExpectNoFault("idiv quotient -128 fits", c => { c.Asm.mov(ax, unchecked((short)-256)); c.Asm.mov(bl, 2); c.Asm.idiv(bl); })
        .Expect("aam 0", DE, 0, c => { c.Asm.mov(ax, 0x1234); c.MarkFault(); c.Asm.aam(0); });

    private static FaultScript GeneralProtection => new FaultScript()
        .Expect("mov ds, selector past the GDT limit", GP, 0x50, c => { c.Asm.mov(ax, 0x50); c.MarkFault(); c.Asm.mov(ds, ax); })
        .Expect("mov ss, null selector", GP, 0, c => { c.Asm.xor(eax, eax); c.MarkFault(); c.Asm.mov(ss, ax); })
        .Expect("mov ds, execute-only code", GP, ExecuteOnlyCode, c => { c.Asm.mov(ax, ExecuteOnlyCode); c.MarkFault(); c.Asm.mov(ds, ax); })
        .Expect("mov ss, read-only data", GP, ReadOnlyData, c => { c.Asm.mov(ax, ReadOnlyData); c.MarkFault(); c.Asm.mov(ss, ax); })
        .Expect("mov ss, ring-3 data at CPL 0", GP, UserData32 & 0xFFFC, c => { c.Asm.mov(ax, UserData32); c.MarkFault(); c.Asm.mov(ss, ax); })
        .Expect("mov ds, not-present data", NP, NotPresentData, c => { c.Asm.mov(ax, NotPresentData); c.MarkFault(); c.Asm.mov(ds, ax); })
        .Expect("write through a read-only segment", GP, 0, c =>
        {
            c.Asm.mov(ax, ReadOnlyData); c.Asm.mov(es, ax);
            c.MarkFault();
            c.Asm.mov(__dword_ptr.es[Scratch], eax);
        }, qemuDiffers: QemuSkipsSegmentChecks)
        .Expect("read past a segment limit", GP, 0, c =>
        {
            c.Asm.mov(ax, SmallData); c.Asm.mov(fs, ax);
            c.Asm.mov(eax, __dword_ptr.fs[0xFFC]); // the last dword inside the limit is fine
            c.MarkFault();
            c.Asm.mov(eax, __dword_ptr.fs[0xFFE]);
        }, qemuDiffers: QemuSkipsSegmentChecks)
        .Expect("far jump to a data segment", GP, KernelData, c =>
        {
            c.MarkFault();
            c.Asm.AddInstruction(Iced.Intel.Instruction.CreateBranch(Iced.Intel.Code.Jmp_ptr1632, KernelData, Scratch));
        })
        .Expect("ud2", UD, 0, c => { c.MarkFault(); c.Asm.ud2(); })
        .Expect("int3 saves the next EIP", BP, 0, c => { c.Asm.int3(); c.MarkFault(); c.Asm.nop(); })
        .Expect("into with OF set", OF, 0, c =>
        {
            c.Asm.mov(al, 0x7F); c.Asm.add(al, 1);
            c.Asm.into();
            c.MarkFault();
            c.Asm.nop();
        })
        .Expect("int 0x40 in ring 0", 0x40, 0, c => { c.Asm.@int(0x40); c.MarkFault(); c.Asm.nop(); })
        .Expect("int past the IDT limit", GP, 0x41 * 8 + 2, c =>
        {
            c.Asm.sub(esp, 8);
            c.Asm.sidt(__[esp + 2]);
            c.Asm.mov(__word_ptr[esp + 2], 0x41 * 8 - 1);
            c.Asm.lidt(__[esp + 2]);
            c.MarkFault();
            c.Asm.@int(0x41);
        })
        .ExpectNoFault("restore the IDT", c =>
        {
            c.Asm.sub(esp, 8);
            c.Asm.sidt(__[esp + 2]);
            c.Asm.mov(__word_ptr[esp + 2], 256 * 8 - 1);
            c.Asm.lidt(__[esp + 2]);
            c.Asm.add(esp, 8);
        })
        .Expect("cli in ring 3", GP, 0, c => { c.EnterUserMode(); c.MarkFault(); c.Asm.cli(); }, user: true)
        .Expect("hlt in ring 3", GP, 0, c => { c.EnterUserMode(); c.MarkFault(); c.Asm.hlt(); }, user: true)
        .Expect("mov eax, cr0 in ring 3", GP, 0, c => { c.EnterUserMode(); c.MarkFault(); c.Asm.mov(eax, cr0); }, user: true)
        .Expect("lidt in ring 3", GP, 0, c => { c.EnterUserMode(); c.MarkFault(); c.Asm.lidt(__[UserData]); }, user: true)
        .Expect("in with IOPL 0 in ring 3", GP, 0, c => { c.EnterUserMode(); c.MarkFault(); c.Asm.@in(al, 0x61); }, user: true)
        .Expect("int through a DPL-0 gate from ring 3", GP, 0x42 * 8 + 2, c => { c.EnterUserMode(); c.MarkFault(); c.Asm.@int(0x42); }, user: true)
        .Expect("mov ds, ring-0 data in ring 3", GP, KernelData, c =>
        {
            c.EnterUserMode();
            c.Asm.mov(ax, KernelData);
            c.MarkFault();
            c.Asm.mov(ds, ax);
        }, user: true);

    private const uint NotPresentPage = TestPages, ReadOnlySupervisorPage = TestPages + 0x1000,
        ReadOnlyUserPage = TestPages + 0x2000, SupervisorPage = TestPages + 0x3000;

    private static FaultScript PageFaults => new FaultScript()
        .ExpectNoFault("map the test pages", c =>
        {
            c.Kernel.SetPte(NotPresentPage, 0);
            c.Kernel.SetPte(ReadOnlySupervisorPage, ReadOnlySupervisorPage | Present);
            c.Kernel.SetPte(ReadOnlyUserPage, ReadOnlyUserPage | Present | User);
            c.Kernel.SetPte(SupervisorPage, SupervisorPage | Present | Writable);
        })
        .Expect("read, not present", 14, 0, c => { c.MarkFault(); c.Asm.mov(eax, __dword_ptr[NotPresentPage + 0x10]); }, cr2: NotPresentPage + 0x10)
        .Expect("write, not present", 14, 2, c => { c.MarkFault(); c.Asm.mov(__byte_ptr[NotPresentPage + 0x123], 1); }, cr2: NotPresentPage + 0x123)
        .Expect("read crossing into a not-present page", 14, 0, c =>
        {
            c.MarkFault();
            c.Asm.mov(eax, __dword_ptr[NotPresentPage - 2]);
        }, cr2: NotPresentPage)
        .Expect("write crossing into a not-present page", 14, 2, c =>
        {
            c.MarkFault();
            c.Asm.mov(__dword_ptr[NotPresentPage - 1], eax);
        }, cr2: NotPresentPage)
        .Expect("fetch, not present", 14, 0, c =>
        {
            c.Asm.mov(eax, NotPresentPage + 0x40);
            c.Asm.call(eax);
        }, cr2: NotPresentPage + 0x40, eip: NotPresentPage + 0x40)
        .Expect("supervisor write to a read-only page, WP=1", 14, 3, c =>
        {
            c.MarkFault();
            c.Asm.mov(__dword_ptr[ReadOnlySupervisorPage + 8], eax);
        }, cr2: ReadOnlySupervisorPage + 8)
        .ExpectNoFault("supervisor write to a read-only page, WP=0", c =>
        {
            c.Asm.mov(eax, cr0); c.Asm.and(eax, ~0x1_0000); c.Asm.mov(cr0, eax);
            c.Asm.mov(__dword_ptr[ReadOnlySupervisorPage + 8], eax);
            c.Asm.or(eax, 0x1_0000); c.Asm.mov(cr0, eax);
        })
        .Expect("user read of a supervisor page", 14, 5, c =>
        {
            c.EnterUserMode();
            c.MarkFault();
            c.Asm.mov(eax, __dword_ptr[SupervisorPage + 4]);
        }, user: true, cr2: SupervisorPage + 4)
        .Expect("user write of a supervisor page", 14, 7, c =>
        {
            c.EnterUserMode();
            c.MarkFault();
            c.Asm.mov(__word_ptr[SupervisorPage + 6], ax);
        }, user: true, cr2: SupervisorPage + 6)
        .Expect("user write of a read-only user page", 14, 7, c =>
        {
            c.EnterUserMode();
            c.Asm.mov(eax, __dword_ptr[ReadOnlyUserPage]); // reading it is fine
            c.MarkFault();
            c.Asm.mov(__dword_ptr[ReadOnlyUserPage], eax);
        }, user: true, cr2: ReadOnlyUserPage)
        .Expect("user write of a not-present page", 14, 6, c =>
        {
            c.EnterUserMode();
            c.MarkFault();
            c.Asm.mov(__byte_ptr[NotPresentPage + 0xFFF], 0);
        }, user: true, cr2: NotPresentPage + 0xFFF)
        .Expect("user fetch from a supervisor page", 14, 5, c =>
        {
            c.EnterUserMode();
            c.Asm.mov(eax, SupervisorPage);
            c.Asm.jmp(eax);
        }, user: true, cr2: SupervisorPage, eip: SupervisorPage)
        .Expect("read through a not-present directory entry", 14, 0, c =>
        {
            c.MarkFault();
            c.Asm.mov(eax, __dword_ptr[0x0080_0000]);
        }, cr2: 0x0080_0000);
}
