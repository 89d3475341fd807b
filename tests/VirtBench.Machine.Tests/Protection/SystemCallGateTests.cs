using Iced.Intel;
using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Protection;

/// <summary>
/// int 0x80 from ring 3 through a DPL-3 gate: the CPU switches to the TSS's ring-0 stack, pushes SS, ESP,
/// EFLAGS, CS and EIP there, and iret returns to ring 3 with the user stack back.
/// </summary>
public class SystemCallGateTests
{
    private const uint UserFlags = 0x202 | 0x800 | 0x1; // IF, OF, CF: IF shows what the gate type does to it
    private const uint ReturnValue = 0x600D_F00D;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SwitchesToTheTssStackAndIretReturnsToRingThree(bool trapGate)
    {
        Label record = default, after = default;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            var p = k.Program;
            record = p.CreateLabel("syscall_record");
            var handler = p.CreateLabel("syscall");
            k.SetGate(0x80, handler, dpl: 3, trap: trapGate);

            var user = p.CreateLabel("user");
            k.EnterUserMode(user, UserStackTop, UserFlags);
            p.Place(ref user);
            a.mov(eax, 0x1234u);
            a.@int(0x80);
            after = p.CreateLabel("after");
            p.Place(ref after);
            a.mov(__dword_ptr[UserData], eax);
            a.mov(__dword_ptr[UserData + 4], esp);
            a.mov(__word_ptr[UserData + 8], cs);
            a.mov(__word_ptr[UserData + 12], ss);
            a.hlt(); // #GP in ring 3: the kernel reports it and exits

            // The handler records what it finds on entry, then returns a value.
            uint r = p.Address(record);
            p.Place(ref handler);
            a.mov(__dword_ptr[r], esp);
            a.mov(__word_ptr[r + 4], ss);
            for (uint i = 0; i < 5; i++)
            {
                a.mov(eax, __dword_ptr[esp + (int)(4 * i)]);
                a.mov(__dword_ptr[r + 8 + 4 * i], eax);
            }
            a.pushfd();
            a.pop(__dword_ptr[r + 28]);
            a.mov(eax, ReturnValue);
            a.iretd();
            p.Place(ref record);
            a.db(new byte[32]);
        }, name: "syscall-gate");

        var pc = new Pc(guest.Image);
        var outcome = pc.Run();
        uint At(uint address) => pc.Memory.Read32(address);
        uint rec = guest.Address(record);

        Assert.Equal(KernelStackTop - 20, At(rec));                       // ESP0 minus the five pushed dwords
        Assert.Equal(KernelData, At(rec + 4) & 0xFFFF);                     // SS0
        Assert.Equal(guest.Address(after), At(rec + 8));                    // return EIP
        Assert.Equal(UserCode32, At(rec + 12));                              // user CS
        Assert.Equal(UserFlags, At(rec + 16));                               // user EFLAGS
        Assert.Equal(UserStackTop, At(rec + 20));                            // user ESP
        Assert.Equal(UserData32, At(rec + 24));                              // user SS
        Assert.Equal(trapGate, (At(rec + 28) & 0x200) != 0);                 // an interrupt gate clears IF, a trap gate keeps it

        Assert.Equal(ReturnValue, At(UserData));
        Assert.Equal(UserStackTop, At(UserData + 4));
        Assert.Equal(UserCode32, At(UserData + 8) & 0xFFFF);
        Assert.Equal(UserData32, At(UserData + 12) & 0xFFFF);
        Assert.True(ExceptionReport.TryParse(pc.Uart.Output.TrimEnd('\n'), out var hlt), pc.Uart.Output + outcome);
        Assert.Equal((Cpu.Vectors.GP, UserCode32), (hlt.Vector, hlt.Cs));

        Assert.Equal(2ul, pc.Counters[Event.StackSwitch]);                  // int 0x80, then the #GP of hlt
        Assert.Equal(1ul, pc.Counters[Event.SoftwareInterruptDelivered]);
        Assert.Equal(1ul, pc.Counters.Instructions(ExecutionMode.Ring3, Mnemonic.Int));
        Assert.Equal(2ul, pc.Counters.Instructions(ExecutionMode.Ring0, Mnemonic.Iretd)); // into ring 3, back from the call
    }

    [Fact]
    public void AGateWithDplZeroRefusesRingThree()
    {
        var guest = TestKernel.Build(k =>
        {
            var handler = k.Program.CreateLabel("never");
            k.SetGate(0x80, handler, dpl: 0);
            var user = k.Program.CreateLabel("user");
            k.EnterUserMode(user);
            k.Program.Place(ref user);
            k.Asm.@int(0x80);
            k.Program.Place(ref handler);
            k.Exit(0x55);
        }, name: "syscall-dpl0");

        var pc = new Pc(guest.Image);
        pc.Run();
        Assert.True(ExceptionReport.TryParse(pc.Uart.Output.TrimEnd('\n'), out var report), pc.Uart.Output);
        Assert.Equal((Cpu.Vectors.GP, 0x80u * 8 + 2, UserCode32), (report.Vector, report.ErrorCode, report.Cs));
    }
}
