using VirtBench.Machine.Tests.Guest;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Machine.Tests.Devices;

/// <summary>
/// Timer interrupts arrive at deterministic points: the PIT counts retired instructions, so two runs take the same
/// interrupts at the same instructions, and a rate generator's interrupts are exactly a period apart.
/// </summary>
public class PitInterruptTests
{
    private const int Interrupts = 16;
    private const ushort PitCount = 500;     // PIT ticks per period

    /// <summary>A guest that logs (TSC, interrupted EIP) in its IRQ 0 handler while spinning, until 16 interrupts.</summary>
    private static (AssembledGuest Guest, Iced.Intel.Label Log, Iced.Intel.Label Loop) Build()
    {
        Iced.Intel.Label log = default, loop = default;
        var guest = TestKernel.Build(k =>
        {
            var a = k.Asm;
            var p = k.Program;
            log = p.CreateLabel("timer_log");
            var count = p.CreateLabel("timer_count");
            var timer = p.CreateLabel("timer");
            k.SetGate(TestKernel.TimerVector, timer);

            k.StartTimer(PitCount); // IRQ 0 at vector 0x20
            a.sti();
            loop = p.CreateLabel("spin");
            p.Place(ref loop);
            a.inc(ecx);
            a.add(edx, ecx);
            a.cmp(__dword_ptr[p.Address(count)], Interrupts);
            a.jb(loop);
            a.cli();
            k.Exit(0);

            p.Place(ref timer);
            a.push(eax); a.push(edx); a.push(ebx);
            a.rdtsc();
            a.mov(ebx, __dword_ptr[p.Address(count)]);
            a.mov(__dword_ptr[ebx * 8 + (int)p.Address(log)], eax);
            a.mov(eax, __dword_ptr[esp + 12]);                       // the interrupted EIP
            a.mov(__dword_ptr[ebx * 8 + (int)p.Address(log) + 4], eax);
            a.inc(__dword_ptr[p.Address(count)]);
            a.mov(al, 0x20);
            a.@out(0x20, al);                                        // end of interrupt
            a.pop(ebx); a.pop(edx); a.pop(eax);
            a.iretd();

            p.Place(ref count);
            a.dd(0u);
            p.Place(ref log);
            a.db(new byte[8 * (Interrupts + 4)]);
        }, name: "pit");
        return (guest, log, loop);
    }

    private static (ulong Tsc, uint Eip)[] RunAndReadLog(AssembledGuest guest, Iced.Intel.Label log, out Pc pc)
    {
        pc = new Pc(guest.Image);
        var outcome = pc.Run();
        Assert.True(outcome.IsSuccess, outcome + pc.Uart.Output);
        var memory = pc.Memory;
        uint at = guest.Address(log);
        return Enumerable.Range(0, Interrupts)
            .Select(i => ((ulong)memory.Read32(at + (uint)i * 8), memory.Read32(at + (uint)i * 8 + 4))).ToArray();
    }

    [Fact]
    public void TwoRunsTakeTheSameInterruptsAtTheSamePoints()
    {
        var (guest, log, _) = Build();
        var first = RunAndReadLog(guest, log, out var pc1);
        var second = RunAndReadLog(guest, log, out var pc2);
        Assert.Equal(first, second);
        Assert.True(pc1.Counters.SameAs(pc2.Counters));
        Assert.Equal(pc1.Pit.Interrupts, pc2.Pit.Interrupts);
        Assert.Equal((ulong)Interrupts, pc1.Counters[Event.InterruptDelivered]);
    }

    [Fact]
    public void RateGeneratorInterruptsAreExactlyOnePeriodApart()
    {
        var (guest, log, loop) = Build();
        var entries = RunAndReadLog(guest, log, out _);
        ulong period = (ulong)PitCount * Platform.InstructionsPerPitTick;
        for (int i = 1; i < entries.Length; i++) Assert.Equal(period, entries[i].Tsc - entries[i - 1].Tsc);
        uint spin = guest.Address(loop);
        Assert.All(entries, e => Assert.InRange(e.Eip, spin, spin + 32)); // every interrupt lands in the spin loop
    }
}
