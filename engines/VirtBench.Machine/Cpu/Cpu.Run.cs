using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VirtBench.Machine.Devices;
using VirtBench.Machine.Memory;
using VirtBench.Machine.Monitor;

namespace VirtBench.Machine.Cpu;

// The run loop: between blocks it handles time, interrupts, halts, the budget and pending faults;
// inside a block it only calls handlers and counts retired instructions.
public sealed partial class Cpu
{
    private RunOutcome? _stop;
    private Block? _lastBlock;
    private GuestInterruptibility _interruptShadow;

    /// <summary>The timer whose deadlines cut blocks (so interrupts arrive at exact instruction counts).</summary>
    internal Pit8254? Timer { get; set; }

    /// <summary>Simulated-time budget (instructions retired plus idle time).</summary>
    public ulong Budget { get; set; } = ulong.MaxValue;

    /// <summary>The outcome once the run has stopped, else null.</summary>
    public RunOutcome? Outcome => _stop;

    /// <summary>Stops the run at the next block boundary with this outcome (the first stop wins).</summary>
    public void Stop(RunOutcome outcome) => _stop ??= outcome;

    /// <summary>Inhibits interrupts until one more instruction has executed (after sti, mov ss, pop ss).</summary>
    internal void SetInterruptShadow(GuestInterruptibility blocking) => _interruptShadow = blocking;

    /// <summary>Runs until the guest exits, halts for good, triple faults, exhausts the budget, or is stopped.</summary>
    public RunOutcome Run()
    {
        while (_stop is null)
        {
            ulong limit = Step();
            if (limit == 0) continue;
            var block = _lastBlock is null ? null : Chained(_lastBlock);
            if (block is null)
            {
                block = FetchBlock();
                if (block is null)
                {
                    if (_hasPending) DeliverPendingFault(Eip);
                    continue;
                }
                if (_lastBlock is not null) Chain(_lastBlock, block);
            }
            RunBlocks(block, Ticks + limit);
        }
        return _stop;
    }

    /// <summary>
    /// Straight on from block to block (following chains) until <paramref name="horizon"/> (the next timer event
    /// or the budget) or a block that ends in something that may have changed interrupt, device or privilege
    /// state. A method of its own so the JIT optimizes it fully (the caller runs once per run, only as OSR code).
    /// </summary>
    private void RunBlocks(Block block, ulong horizon)
    {
        _lastBlock = null;
        while (ExecuteBlock(block, horizon - Ticks))
        {
            if (!block.Plain || Ticks >= horizon || _stop is not null)
            {
                _lastBlock = block; // its successor is looked up in its chain after the checks between blocks
                return;
            }
            var next = Chained(block);
            if (next is null)
            {
                next = FetchBlock();
                if (next is null)
                {
                    if (_hasPending) DeliverPendingFault(Eip);
                    return;
                }
                Chain(block, next);
            }
            block = next;
        }
    }

    /// <summary>The cached successor of a block for the current EIP, if still valid.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Block? Chained(Block prev)
    {
        int epoch = Mmu.Epoch;
        uint eip = Eip;
        if (prev.Next0Eip == eip && prev.Next0Epoch == epoch) return prev.Next0;
        if (prev.Next1Eip == eip && prev.Next1Epoch == epoch) return prev.Next1;
        return null;
    }

    private void Chain(Block prev, Block next)
    {
        int epoch = Mmu.Epoch;
        if (prev.Next0Epoch != epoch || prev.ReplaceNext1 && prev.Next1Epoch == epoch)
        {
            prev.Next0 = next; prev.Next0Eip = Eip; prev.Next0Epoch = epoch;
            prev.ReplaceNext1 = true;
        }
        else
        {
            prev.Next1 = next; prev.Next1Eip = Eip; prev.Next1Epoch = epoch;
            prev.ReplaceNext1 = false;
        }
    }

    /// <summary>
    /// The work between blocks. Returns how many instructions the next block may run (0: loop again,
    /// because an event was handled or the CPU is idle).
    /// </summary>
    private ulong Step()
    {
        ulong deadline = Timer?.NextDeadline ?? ulong.MaxValue;
        if (Ticks >= deadline) { Timer!.Fire(Ticks); deadline = Timer.NextDeadline; }
        if (Ticks >= Budget)
        {
            Stop(new RunOutcome(OutcomeKind.BudgetExhausted, $"budget of {Budget:N0} instruction-equivalents exhausted at EIP 0x{Eip:x8}"));
            return 0;
        }

        bool shadow = _interruptShadow != GuestInterruptibility.None;
        _sliceBlocking = _interruptShadow;
        _interruptShadow = GuestInterruptibility.None;
        if (!shadow && TryTakeInterrupt()) return 0;

        if (Halted)
        {
            bool wakeable = (InterruptsEnabled || Vmx is { ExternalInterruptExiting: true }) && !ExternalInterruptsMasked
                            || Monitor is not null;
            if (!wakeable)
            {
                Stop(new RunOutcome(OutcomeKind.Halted, $"hlt with interrupts disabled at EIP 0x{Eip:x8}"));
                return 0;
            }
            IdleUntil(deadline);
            return 0;
        }
        ulong limit = Math.Min(deadline, Budget) - Ticks;
        return shadow ? 1 : limit;
    }

    /// <summary>
    /// Idle in hlt: skips simulated time to the next timer deadline (or the budget), counted as idle, or stops the
    /// run when no timer is armed.
    /// </summary>
    private void IdleUntil(ulong deadline)
    {
        if (deadline == ulong.MaxValue)
        {
            Stop(new RunOutcome(OutcomeKind.Halted, $"hlt with no timer armed at EIP 0x{Eip:x8}"));
            return;
        }
        ulong wake = Math.Min(deadline, Budget);
        Counts[(int)Event.IdleInstructions] += wake - Ticks;
        Ticks = wake;
    }

    /// <summary>
    /// For a VMM handling an exit (VMX root mode): blocks the virtual CPU as KVM does after a guest's hlt, letting
    /// simulated time pass idle (counted as <see cref="Event.IdleInstructions"/>) and the timer fire until the
    /// interrupt controller requests an interrupt. No VM exit or entry happens meanwhile. False if nothing can
    /// wake it: no timer armed (the run is then stopped as a bare halted CPU would be) or the budget ran out.
    /// </summary>
    public bool WaitForInterrupt()
    {
        var pic = InterruptController;
        while (_stop is null && Ticks < Budget)
        {
            if (pic is not null && pic.InterruptRequested) return true;
            ulong deadline = Timer?.NextDeadline ?? ulong.MaxValue;
            if (Ticks < deadline) IdleUntil(deadline);
            if (Timer is { } timer && Ticks >= timer.NextDeadline) timer.Fire(Ticks);
        }
        return false;
    }

    /// <summary>Takes an external interrupt (or a VMX interrupt-window or external-interrupt exit) if one can be taken now.</summary>
    private bool TryTakeInterrupt()
    {
        var vmx = Vmx;
        if (vmx is { InterruptWindowExiting: true } && InterruptsEnabled)
        {
            // Takes priority over external interrupts, and wakes a halted guest (SDM 26.7.5).
            Halted = false;
            ExitToMonitor(new VmExit { Reason = VmExitReason.InterruptWindow });
            return true;
        }
        var pic = InterruptController;
        if (pic is null || !pic.InterruptRequested || ExternalInterruptsMasked) return false;
        if (vmx is { ExternalInterruptExiting: true })
        {
            Halted = false;
            var acknowledged = vmx.AcknowledgeInterruptOnExit
                ? InterruptionInfo.Of(pic.Acknowledge(), InterruptionType.ExternalInterrupt)
                : InterruptionInfo.None;
            ExitToMonitor(new VmExit { Reason = VmExitReason.ExternalInterrupt, Interruption = acknowledged });
            return true;
        }
        if (!InterruptsEnabled) return false;
        if (ExternalInterruptsToMonitor && Monitor is not null && vmx is null)
        {
            Monitor.OnExternalInterrupt(this);
            return true;
        }
        int vector = pic.Acknowledge();
        Halted = false;
        Raise(vector, ExceptionKind.External, null, 0, Eip, Eip);
        return true;
    }

    private Block? FetchBlock()
    {
        uint eip = Eip;
        uint machine;
        uint? linear = null;
        if (InTranslationCache)
        {
            if (eip >= Memory.Size) { GeneralProtection(0); return null; }
            machine = eip;
        }
        else
        {
            ref Segment cs = ref Segs[(int)SegReg.Cs];
            if (eip > cs.Limit) { GeneralProtection(0); return null; }
            uint lin = cs.Base + eip;
            linear = lin;
            ref FastTlb.Entry e = ref _fast[(lin >> 12) & FastTlb.Mask];
            if (e.ReadTag == lin >> 12) machine = (uint)e.Host + (lin & 0xFFF);
            else if (!TranslateFetch(lin, out machine)) return null;
        }
        var block = Cache.Lookup(machine, eip);
        if (block is not null && block.SecondLinearPage != uint.MaxValue)
        {
            // An instruction that crosses a page: its second page may have been remapped.
            if (!TranslateFetch(block.SecondLinearPage << 12, out uint second)) return null;
            if (second >> 12 != block.Frames[1]) block = null;
        }
        return block ?? Cache.Build(machine, eip, linear);
    }

    /// <summary>Runs up to <paramref name="limit"/> ops of a block; false if an op aborted (fault delivered or stale block).</summary>
    private unsafe bool ExecuteBlock(Block block, ulong limit)
    {
        Op[] ops = block.Ops;
        int n = limit < (ulong)ops.Length ? (int)limit : ops.Length;
        ref Op first = ref MemoryMarshal.GetArrayDataReference(ops);
        ref ulong counts = ref MemoryMarshal.GetArrayDataReference(Counts);
        int modeBase = _modeBase;
        if (!ReferenceEquals(_currentBlock, block)) _currentBlock = block; // spares a GC write barrier per block in loops
        Eip = Unsafe.Add(ref first, n - 1).NextEip;
        int i = 0;
        while (i < n)
        {
            ref Op op = ref Unsafe.Add(ref first, i);
            if (!op.Exec(this, ref op))
            {
                if (Aborted)
                {
                    Aborted = false;
                    Retire(block, _retiredAhead, i);
                    _retiredAhead = 0;
                    if (_hasPending) DeliverPendingFault(op.Eip);
                    return false; // a fault, or a stale block: refetch at the EIP the op left
                }
                Unsafe.Add(ref counts, modeBase + op.Mnemonic)++;
                Retire(block, 0, i + 1);
                return true;
            }
            Unsafe.Add(ref counts, modeBase + op.Mnemonic)++;
            i++;
        }
        Retire(block, 0, i);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Retire(Block block, int from, int to)
    {
        Retired += (ulong)(to - from);
        Ticks += (ulong)(to - from);
        if (block.Probes is { } probes) CountProbes(probes, from, to); // translated code only (see AddProbe)
    }

    // Ops of the executing block retired ahead of a VM exit in its middle, so that the VMM sees exact simulated time.
    private int _retiredAhead;

    /// <summary>Retires the ops before the current one (of a block that is about to abort) ahead of time.</summary>
    internal void RetireAhead(int ops)
    {
        Retire(_currentBlock!, 0, ops);
        _retiredAhead = ops;
    }

    private Block? _currentBlock;

    /// <summary>The full Iced instruction behind an op of the executing block (for slow-path handlers).</summary>
    internal ref readonly Iced.Intel.Instruction InstructionOf(ref Op op) => ref _currentBlock!.Instructions[op.Position];
}
