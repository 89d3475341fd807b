using VirtBench.Engines.Paravirt;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using VirtBench.Machine.Monitor;
using VirtBench.Workloads;
using VirtBench.Workloads.Kernel;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Engines.Tests.Paravirt;

/// <summary>
/// The direct return to user mode unmasks events before its iret; an upcall that lands between the two finds the
/// user frame under its own and must handle the event on it (as Linux's xen_iret fixup does).
/// </summary>
public sealed class ReturnPathTests
{
    /// <summary>
    /// Forwards to the hypervisor and records where the guest was when an interrupt became an upcall, and where each
    /// iret hypercall returned to (kernel stacks are identity-mapped, so the frame is read at its linear address).
    /// </summary>
    private sealed class UpcallRecorder(IMonitor hypervisor, Pc pc) : IMonitor
    {
        public List<uint> UpcallsAt { get; } = [];
        public List<uint> IretsTo { get; } = [];

        public Disposition OnException(Cpu cpu, in GuestException exception)
        {
            if (exception.Vector == ParavirtAbi.HypercallVector && cpu.Eax == ParavirtAbi.Hypercall.Iret) IretsTo.Add(pc.Memory.Read32(cpu.Esp + 4));
            return hypervisor.OnException(cpu, exception);
        }

        public void OnExternalInterrupt(Cpu cpu)
        {
            uint eip = cpu.Eip;
            ulong before = pc.Counters[Event.EventUpcall];
            hypervisor.OnExternalInterrupt(cpu);
            if (pc.Counters[Event.EventUpcall] > before) UpcallsAt.Add(eip);
        }

        public void OnVmExit(Cpu cpu, in VmExit exit) => hypervisor.OnVmExit(cpu, exit);

        public void OnSensitiveInstruction(Cpu cpu, in SensitiveInstruction instruction) => hypervisor.OnSensitiveInstruction(cpu, instruction);
    }

    [Fact]
    public void An_upcall_inside_the_return_path_s_critical_region_is_handled_on_the_user_frame()
    {
        // Timer ticks fall at exact instruction counts: shift a system-call loop by one instruction at a time until a
        // tick lands between the unmask and the iret of a return to user mode.
        bool hit = false;
        for (int shift = 0; shift < 64 && !hit; shift++)
        {
            int padding = shift;
            var image = ImageBuilder.BuildKernel("return-path", KernelFlavor.Paravirtual,
            [
                new GuestProgram("return-path", u =>
                {
                    for (int i = 0; i < padding; i++) u.A.nop();
                    u.A.mov(esi, 4000);
                    var loop = u.NewLabel();
                    u.Bind(ref loop);
                    u.Int80(Sys.GetPid);
                    u.A.dec(esi);
                    u.A.jnz(loop);
                    u.Print("done\n");
                    u.Exit(0);
                }),
            ]).Image;
            uint start = image.Symbols.AddressOf("pv_iret.critical_start")!.Value, end = image.Symbols.AddressOf("pv_iret.critical_end")!.Value;
            var layout = HypervisorLayout.For(Platform.DefaultRamBytes);
            var pc = new Pc(image, new MachineOptions { VmmBytes = layout.VmmBytes, InstructionBudget = 50_000_000 });
            var recorder = new UpcallRecorder(DomainBuilder.Build(pc), pc);
            pc.Cpu.Monitor = recorder;
            var outcome = pc.Run();

            Assert.True(outcome.IsSuccess, outcome.ToString());
            Assert.Equal("VirtBench guest kernel\ndone\n", pc.Uart.Output);
            hit = recorder.UpcallsAt.Any(eip => eip >= start && eip < end);
            // Handled on the user frame: no upcall frame was left to return into the region (that return would also
            // have skipped the reschedule the timer asked for).
            Assert.DoesNotContain(recorder.IretsTo, eip => eip >= start && eip < end);
        }
        Assert.True(hit, "no timer upcall landed in the return path's critical region in 64 shifts");
    }
}
