using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

// Events, scheduling and the console: event_channel_op (the device ring's notification, unmask), sched_op
// (yield, block, shutdown) and console_io.
internal sealed partial class Hypervisor
{
    /// <summary>The most bytes one console write may carry.</summary>
    public const int MaxConsoleWrite = 64 * 1024;

    /// <summary>event_channel_op(command, argument): send (notify the device ring's backend) or unmask a port.</summary>
    private int EventChannelOp(Cpu cpu, uint command, uint argument)
    {
        if (!TryRead32(argument, out uint port)) return -Error.EFAULT;
        if (port >= EventChannel.Ports) return -Error.EINVAL;
        switch (command)
        {
            case EventChannel.Send when port == EventChannel.DeviceRingPort:
                if (Ring.Serve() is { } broken) Crash(cpu, broken);
                Count(Event.RingNotification);
                return 0;
            case EventChannel.Send:
                return -Error.EINVAL;
            case EventChannel.Unmask:
                Events.Unmask((int)port);
                return 0;
            default:
                return -Error.ENOSYS;
        }
    }

    /// <summary>sched_op: yield (one domain: nothing to do), block until an event, or shut the domain down.</summary>
    private int SchedOp(Cpu cpu, uint command, uint argument)
    {
        switch (command)
        {
            case ParavirtAbi.SchedOp.Yield:
                return 0;
            case ParavirtAbi.SchedOp.Block:
                // Unmask and sleep unless something is pending already; the wake-up interrupt upcalls at once.
                Shared.Masked = false;
                if (!Shared.UpcallPending) cpu.Halted = true;
                return 0;
            case ParavirtAbi.SchedOp.Shutdown:
                if (!TryRead32(argument, out uint reason)) return -Error.EFAULT;
                string why = reason switch { 0 => "poweroff", 1 => "reboot", 2 => "suspend", 3 => "crash", _ => $"reason {reason}" };
                cpu.Stop(new RunOutcome(OutcomeKind.EngineStop, $"paravirt: the guest domain shut down ({why})"));
                return 0;
            default:
                return -Error.ENOSYS;
        }
    }

    /// <summary>console_io(write, count, buffer): the bytes go out on the serial line beside the guest's own output.</summary>
    private int ConsoleIo(uint command, uint count, uint buffer)
    {
        if (command != ParavirtAbi.ConsoleIo.Write) return -Error.ENOSYS;
        if (count > MaxConsoleWrite) return -Error.EINVAL;
        var bytes = new byte[count];
        if (!TryRead(buffer, bytes)) return -Error.EFAULT;
        foreach (byte b in bytes) _pc.Uart.Emit(b);
        return 0;
    }
}
