using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Paging;

/// <summary>CR0.WP decides whether ring 0 may write read-only pages; ring 3 never may.</summary>
public class WriteProtectTests
{
    private const uint ReadOnlyPage = TestPages;

    [Theory]
    [InlineData(false, false, null)]   // supervisor, WP=0: the write goes through
    [InlineData(true, false, 3u)]      // supervisor, WP=1: #PF(P|W)
    [InlineData(false, true, 7u)]      // user: #PF(P|W|U) either way
    [InlineData(true, true, 7u)]
    public void DecidesSupervisorWritesToReadOnlyPages(bool writeProtect, bool user, uint? pageFaultError)
    {
        var guest = TestKernel.Build(k =>
        {
            k.SetPte(ReadOnlyPage, ReadOnlyPage | Present | User);
            if (user)
            {
                var code = k.Program.CreateLabel("user");
                k.EnterUserMode(code);
                k.Program.Place(ref code);
            }
            k.Asm.mov(__dword_ptr[ReadOnlyPage + 0x80], 0x5AFE_5AFE);
            k.Exit(0); // reached only when the write went through, in ring 0
        }, new KernelOptions { Paging = true, WriteProtect = writeProtect }, "write-protect");

        var pc = new Pc(guest.Image);
        var outcome = pc.Run();
        uint written = pc.Memory.Read32(ReadOnlyPage + 0x80);
        uint pte = pc.Memory.Read32(PteAddress(ReadOnlyPage));
        if (pageFaultError is uint error)
        {
            Assert.True(ExceptionReport.TryParse(pc.Uart.Output.TrimEnd('\n'), out var report), pc.Uart.Output + outcome);
            Assert.Equal((Cpu.Vectors.PF, error, ReadOnlyPage + 0x80), (report.Vector, report.ErrorCode, report.Cr2));
            Assert.Equal(0u, written);
            Assert.Equal(0u, pte & Dirty);
        }
        else
        {
            Assert.True(outcome.IsSuccess, outcome + pc.Uart.Output);
            Assert.Equal(0x5AFE_5AFEu, written);
            Assert.Equal(Dirty, pte & Dirty);
        }
    }
}
