using Iced.Intel;
using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Vmm;

// Descriptor tables: the loads (privileged) set the guest's virtual GDTR/IDTR/LDTR/TR; the stores and the
// descriptor queries (sensitive) answer from the guest's tables, not the VMM's real ones.
public sealed partial class InstructionEmulator
{
    private EmulationResult LoadTableRegister(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        uint at = Linear(i, 0);
        if (!TryRead(at, 2, out uint limit, out var fault) || !TryRead(at + 2, 4, out uint tableBase, out fault)) return fault;
        if (i.Code is Code.Lgdt_m1632_16 or Code.Lidt_m1632_16) tableBase &= 0x00FF_FFFF;
        var value = new DescriptorTableRegister(tableBase, (ushort)limit);
        if (i.Mnemonic == Mnemonic.Lidt)
        {
            _v.Idtr = value;
            return Done(i);
        }
        _v.Gdtr = value;
        var result = Done(i);
        Host.GdtLoaded();
        return result;
    }

    private EmulationResult StoreTableRegister(in Instruction i)
    {
        var value = i.Mnemonic == Mnemonic.Sgdt ? _v.Gdtr : _v.Idtr;
        uint at = Linear(i, 0);
        // Both parts are checked before either is written, as the CPU does.
        if (!Reachable(at, 6, Machine.Memory.MemoryAccess.Write, out var fault)) return fault;
        if (!_memory.Translate(at + 5, Machine.Memory.MemoryAccess.Write, _cpl == 3, setAccessedDirty: false).Ok)
            return PageFault(at, 6, Machine.Memory.MemoryAccess.Write);
        return TryWrite(at, 2, value.Limit, out fault) && TryWrite(at + 2, 4, value.Base, out fault) ? Done(i) : fault;
    }

    /// <summary>lldt: recorded in the virtual LDTR. The VMM does not shadow LDTs: a real LDT is never loaded.</summary>
    private EmulationResult Lldt(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        if (!TryReadOperand16(i, 0, out uint selector, out var fault)) return fault;
        if ((selector & 0xFFFC) == 0)
        {
            _v.Ldtr = Segment.Null((ushort)selector);
            return Done(i);
        }
        if ((selector & 4) != 0) return GeneralProtection(selector & 0xFFFC);
        if (!TryReadDescriptor((ushort)selector, out uint low, out uint high, out fault)) return fault;
        var ldt = Segment.FromDescriptor((ushort)selector, low, high);
        if ((ldt.Rights & 0x1F) != 0x02) return GeneralProtection(selector & 0xFFFC);
        if (!ldt.Present) return Fault(Vectors.NP, selector & 0xFFFC);
        _v.Ldtr = ldt;
        return Done(i);
    }

    /// <summary>ltr: the guest's TSS becomes its virtual TR (marked busy in its GDT); the real TR stays the VMM's.</summary>
    private EmulationResult Ltr(in Instruction i)
    {
        if (_cpl != 0) return GeneralProtection();
        if (!TryReadOperand16(i, 0, out uint selector, out var fault)) return fault;
        if ((selector & 0xFFFC) == 0 || (selector & 4) != 0) return GeneralProtection(selector & 0xFFFC);
        if (!TryReadDescriptor((ushort)selector, out uint low, out uint high, out fault)) return fault;
        var tss = Segment.FromDescriptor((ushort)selector, low, high);
        if ((tss.Rights & 0x1F) is not (0x09 or 0x01)) return GeneralProtection(selector & 0xFFFC);
        if (!tss.Present) return Fault(Vectors.NP, selector & 0xFFFC);
        _descriptors.MarkBusy((ushort)selector, high);
        tss.Rights |= 0x2;
        _v.Tr = tss;
        return Done(i);
    }

    private EmulationResult StoreSystemSelector(in Instruction i)
    {
        uint selector = i.Mnemonic == Mnemonic.Sldt ? _v.Ldtr.Selector : _v.Tr.Selector;
        return TryStoreWordOperand(i, selector, out var fault) ? Done(i) : fault;
    }

    /// <summary>lar, lsl, verr, verw against the guest's own tables at its own privilege level: ZF and, for lar/lsl, the result.</summary>
    private EmulationResult QueryDescriptor(in Instruction i)
    {
        bool loads = i.Mnemonic is Mnemonic.Lar or Mnemonic.Lsl;
        int kind = i.Mnemonic switch { Mnemonic.Lar => 0, Mnemonic.Lsl => 1, Mnemonic.Verr => 2, _ => 3 };
        if (!TryReadOperand16(i, loads ? 1 : 0, out uint selector, out var fault)) return fault;
        bool? valid = _descriptors.Query((ushort)selector, kind, _cpl, out uint result, out var failure);
        if (valid is null) return Fault(Vectors.PF, failure.ErrorCode, DescriptorAddress((ushort)selector));
        uint flags = _cpu.Eflags;
        _cpu.Eflags = valid.Value ? flags | (uint)FlagBits.ZF : flags & ~(uint)FlagBits.ZF;
        if (valid.Value && loads) WriteRegister(i.Op0Register, i.Op0Register.IsGPR16() ? result & 0xFFFF : result);
        return Done(i);
    }

    /// <summary>Reads a guest descriptor for a load: #GP(selector) outside the table, #PF if the table is unmapped.</summary>
    private bool TryReadDescriptor(ushort selector, out uint low, out uint high, out EmulationResult fault)
    {
        fault = default;
        switch (_descriptors.TryRead(selector, out low, out high, out var failure))
        {
            case GuestDescriptors.ReadStatus.Ok: return true;
            case GuestDescriptors.ReadStatus.PageFault: fault = Fault(Vectors.PF, failure.ErrorCode, DescriptorAddress(selector)); return false;
            default: fault = GeneralProtection((uint)selector & 0xFFFC); return false;
        }
    }

    private uint DescriptorAddress(ushort selector) =>
        ((selector & 4) != 0 ? _v.Ldtr.Base : _v.Gdtr.Base) + ((uint)selector & ~7u);
}
