using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.Tests.Guest.KernelLayout;

namespace VirtBench.Machine.Tests.Paging;

/// <summary>The page walk sets accessed bits on use and dirty bits on the first write, and nothing on a fault.</summary>
public class AccessedDirtyBitTests
{
    [Fact]
    public void TheWalkSetsAccessedAndDirtyBits()
    {
        uint read = TestPages, written = TestPages + 0x1000, readThenWritten = TestPages + 0x2000,
            untouched = TestPages + 0x3000, notPresent = TestPages + 0x4000, fetched = TestPages + 0x5000;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            k.SetPte(notPresent, notPresent & ~0xFFFu); // P = 0
            a.mov(__byte_ptr[fetched], 0xC3);          // ret
            k.SetPte(fetched, fetched | Present | Writable | User); // clean again after the store
            a.mov(eax, __dword_ptr[read]);
            a.mov(__word_ptr[written + 0x10], ax);
            a.mov(eax, __dword_ptr[readThenWritten]);
            a.mov(__byte_ptr[readThenWritten + 0xFFF], al);
            a.mov(eax, fetched);
            a.call(eax);
            var skip = k.Program.CreateLabel();
            k.ResumeAt(skip);
            a.mov(eax, __dword_ptr[notPresent]);
            k.Program.Place(ref skip);
            k.Exit(0);
        }, new KernelOptions { Paging = true, OnException = ExceptionAction.ReportAndResume }, "accessed-dirty");

        var pc = new Pc(guest.Image);
        Assert.True(pc.Run().IsSuccess);
        uint Bits(uint page) => pc.Memory.Read32(PteAddress(page)) & (Accessed | Dirty);
        Assert.Equal(Accessed, Bits(read));
        Assert.Equal(Accessed | Dirty, Bits(written));
        Assert.Equal(Accessed | Dirty, Bits(readThenWritten));
        Assert.Equal(0u, Bits(untouched));
        Assert.Equal(0u, Bits(notPresent));
        Assert.Equal(Accessed, Bits(fetched));        // an instruction fetch is a read
        Assert.NotEqual(0u, pc.Memory.Read32(PageDirectory) & Accessed);
        Assert.Equal(0u, pc.Memory.Read32(PageDirectory) & Dirty); // D is not defined for a PDE that maps a table: left clear
        Assert.StartsWith($"#0e err=00000000", pc.Uart.Output); // the not-present read faulted (and set nothing)
    }
}
