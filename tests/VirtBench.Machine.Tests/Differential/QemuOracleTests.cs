using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Differential;

/// <summary>The oracle itself: QEMU's serial output must reach the test whole, however long.</summary>
public class QemuOracleTests
{
    [SkippableFact]
    public void OutputLargerThanAPipeBufferArrivesWhole()
    {
        QemuOracle.SkipIfUnavailable();
        const int lines = 4096; // 64 characters each: 256 KiB, four times a Linux pipe buffer
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            a.xor(ebx, ebx);
            var line = a.CreateLabel();
            a.Label(ref line);
            for (int i = 0; i < 7; i++)
            {
                k.Serial.PrintHex(k.Program, ebx);
                a.mov(al, (byte)' '); a.call(k.Serial.PutChar);
            }
            k.Serial.PrintHex(k.Program, ebx);
            a.mov(al, (byte)'\n'); a.call(k.Serial.PutChar);
            a.inc(ebx);
            a.cmp(ebx, lines);
            a.jb(line);
            k.Exit(0);
        }, name: "long-output");

        var (qemu, ours, outcome) = QemuOracle.Run(guest.Image);
        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal(lines * 72, ours.Length);
        Assert.Equal(ours, qemu);
    }
}
