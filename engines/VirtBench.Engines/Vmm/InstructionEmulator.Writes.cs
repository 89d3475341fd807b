using Iced.Intel;
using VirtBench.Machine.Cpu;

namespace VirtBench.Engines.Vmm;

// The guest's writes to pages the VMM traces (its page tables, its GDT), emulated so that the write lands in guest
// memory through GuestAddressSpace, which tells the shadows: the forms kernels use to update entries (mov, xchg,
// cmpxchg, read-modify-write arithmetic and logic, inc/dec, one element of stos or movs). Anything else is
// NotEmulated: the caller then stops tracing the page instead (always correct, only slower).
public sealed partial class InstructionEmulator
{
    /// <summary>
    /// Emulates an instruction whose memory write faulted on a traced page, at guest privilege level
    /// <paramref name="guestCpl"/>. With a rep prefix, one element is done per call (EIP stays until ECX is 0).
    /// </summary>
    public EmulationResult EmulateWrite(in Instruction instruction, int guestCpl)
    {
        _cpl = guestCpl;
        var i = instruction;
        switch (i.Mnemonic)
        {
            case Mnemonic.Stosb or Mnemonic.Stosw or Mnemonic.Stosd: return StringElement(i, move: false);
            case Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd when i.Op0Kind == OpKind.MemoryESEDI: return StringElement(i, move: true);
        }
        if (i.OpCount == 0 || i.Op0Kind != OpKind.Memory && !(i.Mnemonic == Mnemonic.Xchg && i.Op1Kind == OpKind.Memory)) return NotEmulated;
        int memoryOperand = i.Op0Kind == OpKind.Memory ? 0 : 1;
        int size = i.MemorySize.GetSize();
        if (size is not (1 or 2 or 4)) return NotEmulated;
        int width = size == 1 ? 0 : size == 2 ? 1 : 2;
        uint at = Linear(i, memoryOperand);
        uint source = i.OpCount < 2 ? 0 : i.GetOpKind(1) == OpKind.Register ? ReadRegister(i.Op1Register) : (uint)i.GetImmediate(1);
        EmulationResult fault;
        if (i.Mnemonic == Mnemonic.Mov)
            return TryWrite(at, size, source, out fault) ? Done(i) : fault;
        if (!TryRead(at, size, out uint old, out fault)) return fault;
        uint mask = size == 4 ? 0xFFFF_FFFFu : (1u << (8 * size)) - 1;
        uint result;
        switch (i.Mnemonic)
        {
            case Mnemonic.Xchg:
            {
                var register = memoryOperand == 0 ? i.Op1Register : i.Op0Register;
                if (!TryWrite(at, size, ReadRegister(register), out fault)) return fault;
                WriteRegister(register, old);
                return Done(i);
            }
            case Mnemonic.Cmpxchg:
            {
                uint accumulator = _cpu.Eax & mask;
                _cpu.Lazy.Set(FlagOp.Sub, width, accumulator, old, accumulator - old);
                if (accumulator != old)
                {
                    WriteRegister(size == 4 ? Register.EAX : size == 2 ? Register.AX : Register.AL, old);
                    source = old; // the locked cycle writes the old value back
                }
                return TryWrite(at, size, source, out fault) ? Done(i) : fault;
            }
            case Mnemonic.Add: result = old + source; _cpu.Lazy.Set(FlagOp.Add, width, old, source, result); break;
            case Mnemonic.Sub: result = old - source; _cpu.Lazy.Set(FlagOp.Sub, width, old, source, result); break;
            case Mnemonic.And: result = old & source; _cpu.Lazy.Set(FlagOp.Logic, width, old, source, result); break;
            case Mnemonic.Or: result = old | source; _cpu.Lazy.Set(FlagOp.Logic, width, old, source, result); break;
            case Mnemonic.Xor: result = old ^ source; _cpu.Lazy.Set(FlagOp.Logic, width, old, source, result); break;
            case Mnemonic.Adc or Mnemonic.Sbb:
            {
                uint carry = _cpu.Lazy.CF ? 1u : 0u;
                bool add = i.Mnemonic == Mnemonic.Adc;
                result = add ? old + source + carry : old - source - carry;
                _cpu.Lazy.Set(add ? FlagOp.Adc : FlagOp.Sbb, width, old, source, result);
                _cpu.Lazy.Aux = carry;
                break;
            }
            case Mnemonic.Inc or Mnemonic.Dec:
            {
                uint carry = _cpu.Lazy.CF ? 1u : 0u;
                bool inc = i.Mnemonic == Mnemonic.Inc;
                result = inc ? old + 1 : old - 1;
                _cpu.Lazy.Set(inc ? FlagOp.Inc : FlagOp.Dec, width, old, 1, result);
                _cpu.Lazy.Aux = carry;
                break;
            }
            default:
                return NotEmulated;
        }
        return TryWrite(at, size, result & mask, out fault) ? Done(i) : fault;
    }

    private static EmulationResult NotEmulated => new(EmulationStatus.NotEmulated);

    /// <summary>One element of stos or movs (32-bit addressing), the rep count and index registers advanced.</summary>
    private EmulationResult StringElement(in Instruction i, bool move)
    {
        int size = i.MemorySize.GetSize();
        if (i.Op0Kind != OpKind.MemoryESEDI || size is not (1 or 2 or 4)) return NotEmulated;
        bool rep = i.HasRepPrefix || i.HasRepePrefix;
        if (rep && _cpu.Ecx == 0) return Done(i);
        int delta = (_cpu.Eflags & (uint)FlagBits.DF) != 0 ? -size : size;
        uint value;
        EmulationResult fault;
        if (move) { if (!TryRead(Linear(i, 1), size, out value, out fault)) return fault; }
        else value = size == 4 ? _cpu.Eax : _cpu.Eax & ((1u << (8 * size)) - 1);
        if (!TryWrite(Linear(i, 0), size, value, out fault)) return fault;
        _cpu.Edi += (uint)delta;
        if (move) _cpu.Esi += (uint)delta;
        if (!rep) return Done(i);
        _cpu.Ecx--;
        return _cpu.Ecx == 0 ? Done(i) : Continue(i, (uint)i.IP);
    }
}
