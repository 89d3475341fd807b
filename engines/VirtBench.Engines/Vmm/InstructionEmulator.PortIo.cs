using Iced.Intel;

namespace VirtBench.Engines.Vmm;

// Port I/O: the real IOPL is 0 and the real TSS has no I/O bitmap, so every in/out of the guest faults; the
// guest's own permission (its IOPL, then its TSS's bitmap) decides, and the virtual devices serve the access.
public sealed partial class InstructionEmulator
{
    private EmulationResult PortIo(in Instruction i)
    {
        bool input = i.Mnemonic == Mnemonic.In;
        var data = input ? i.Op0Register : i.Op1Register;
        var portOperand = input ? i.Op1Kind : i.Op0Kind;
        ushort port = (ushort)(portOperand == OpKind.Register ? _cpu.Edx : i.Immediate8);
        int size = data.GetSize();
        if (!IoPermitted(port, size)) return GeneralProtection();
        if (input) WriteRegister(data, _devices.In(port, size));
        else _devices.Out(port, size, ReadRegister(data));
        return Done(i);
    }

    /// <summary>The guest's I/O permission: CPL &lt;= IOPL, or every bit of the ports clear in its TSS's I/O bitmap.</summary>
    private bool IoPermitted(ushort port, int size)
    {
        if (_cpl <= _v.Iopl) return true;
        var tss = _v.Tr;
        if (!tss.Usable || tss.Limit < 0x67) return false;
        if (!_memory.TryRead(tss.Base + 0x66, 2, false, out uint mapBase, out _)) return false;
        uint byteOffset = mapBase + (uint)(port >> 3);
        if (byteOffset + 1 > tss.Limit || !_memory.TryRead(tss.Base + byteOffset, 2, false, out uint bits, out _)) return false;
        uint mask = ((1u << size) - 1) << (port & 7);
        return (bits & mask) == 0;
    }
}
