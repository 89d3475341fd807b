using System.Buffers.Binary;
using VirtBench.Machine;
using VirtBench.Machine.Cpu;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Paravirt;

// Memory hypercalls: batched page-table updates (mmu_update) and the extended operations (pins, base pointer,
// TLB flushes) of mmuext_op. Both process their requests in order and stop at the first failure, reporting how
// many were done; what was done stays done, as in Xen.
internal sealed partial class Hypervisor
{
    /// <summary>Requests read from the guest at a time.</summary>
    private const int Chunk = 64;

    /// <summary>The most requests one call may carry (Barham et al.: batches of up to 2048 updates).</summary>
    public const int MaxBatch = 2048;

    /// <summary>mmu_update(requests, count, done pointer, domain): one validated write per request.</summary>
    private int MmuUpdate(uint requests, uint count, uint donePointer, uint domain)
    {
        if (domain != DomainSelf || count > MaxBatch) return -Error.EINVAL;
        Span<byte> buffer = stackalloc byte[Chunk * ParavirtAbi.MmuUpdate.RequestSize];
        uint done = 0;
        int rc = 0;
        while (done < count && rc == 0)
        {
            int n = (int)Math.Min(Chunk, count - done);
            var part = buffer[..(n * ParavirtAbi.MmuUpdate.RequestSize)];
            if (!TryRead(requests + done * ParavirtAbi.MmuUpdate.RequestSize, part)) { rc = -Error.EFAULT; break; }
            for (int i = 0; i < n && rc == 0; i++)
            {
                var request = part.Slice(i * ParavirtAbi.MmuUpdate.RequestSize);
                ulong ptr = BinaryPrimitives.ReadUInt64LittleEndian(request);
                ulong value = BinaryPrimitives.ReadUInt64LittleEndian(request[8..]);
                Count(Event.HypercallMmuUpdateEntry);
                rc = UpdateEntry(ptr, value);
                if (rc == 0) done++;
            }
        }
        if (donePointer != 0 && !TryWrite32(donePointer, done) && rc == 0) rc = -Error.EFAULT;
        return rc;
    }

    private int UpdateEntry(ulong ptr, ulong value)
    {
        if (ptr >> 32 != 0 || value >> 32 != 0) return -Error.EINVAL;
        uint command = (uint)ptr & 3, address = (uint)ptr & ~3u;
        return command switch
        {
            ParavirtAbi.MmuUpdate.NormalPtUpdate => Frames.UpdateEntry(address, (uint)value, preserveAccessedDirty: false),
            ParavirtAbi.MmuUpdate.PtUpdatePreserveAd => Frames.UpdateEntry(address, (uint)value, preserveAccessedDirty: true),
            _ => -Error.ENOSYS,
        };
    }

    /// <summary>mmuext_op(operations, count, done pointer, domain).</summary>
    private int MmuExtOp(Cpu cpu, uint operations, uint count, uint donePointer, uint domain)
    {
        if (domain != DomainSelf || count > MaxBatch) return -Error.EINVAL;
        Span<byte> op = stackalloc byte[MmuExt.OperationSize];
        uint done = 0;
        int rc = 0;
        for (; done < count; done++)
        {
            if (!TryRead(operations + done * MmuExt.OperationSize, op)) { rc = -Error.EFAULT; break; }
            uint command = BinaryPrimitives.ReadUInt32LittleEndian(op);
            uint argument = BinaryPrimitives.ReadUInt32LittleEndian(op[4..]);
            rc = command switch
            {
                MmuExt.PinL1Table => Frames.Pin(argument, PageType.L1),
                MmuExt.PinL2Table => Frames.Pin(argument, PageType.L2),
                MmuExt.UnpinTable => Frames.Unpin(argument),
                MmuExt.NewBasePtr => NewBasePointer(cpu, argument),
                MmuExt.TlbFlushLocal or MmuExt.TlbFlushAll => Flush(cpu),
                MmuExt.InvlpgLocal or MmuExt.InvlpgAll => FlushPage(cpu, argument),
                _ => -Error.ENOSYS,
            };
            if (rc != 0) break;
        }
        if (donePointer != 0 && !TryWrite32(donePointer, done) && rc == 0) rc = -Error.EFAULT;
        return rc;
    }

    /// <summary>NEW_BASEPTR: the frame must be (or validate as) a page directory; the old base loses its reference.</summary>
    private int NewBasePointer(Cpu cpu, uint frame)
    {
        int rc = Frames.GetType(frame, PageType.L2);
        if (rc != 0) return rc;
        uint old = BaseFrame;
        LoadBase(cpu, frame);
        Frames.PutType(old);
        return 0;
    }

    /// <summary>Makes a validated page directory the first base pointer (the domain builder's).</summary>
    public void SetInitialBase(Cpu cpu, uint frame)
    {
        if (Frames.GetType(frame, PageType.L2) != 0) throw new InvalidOperationException("the bootstrap page directory does not validate");
        LoadBase(cpu, frame);
    }

    private static int Flush(Cpu cpu)
    {
        cpu.Mmu.FlushAll();
        return 0;
    }

    private static int FlushPage(Cpu cpu, uint linear)
    {
        cpu.Mmu.FlushPage(linear);
        return 0;
    }
}
