using VirtBench.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace VirtBench.Workloads.Kernel;

/// <summary>
/// Device drivers: the 16550 UART (console output, and a loopback "serial device" for the io workloads), the
/// 8259A PICs, the 8254 PIT, the bench port and isa-debug-exit. All port I/O goes through pv-ops.
/// </summary>
internal static class Drivers
{
    private const ushort Uart = Platform.Com1Port;
    private const ushort UartData = Uart, UartIer = Uart + 1, UartFcr = Uart + 2, UartLcr = Uart + 3, UartMcr = Uart + 4, UartLsr = Uart + 5;
    private const byte LsrDataReady = 0x01, LsrTransmitEmpty = 0x20, LsrIdle = 0x40;
    private const byte McrNormal = 0x03, McrLoopback = 0x13;
    private const int LoopbackPolls = 1000;

    /// <summary>PIT input clock / 100 Hz.</summary>
    public const ushort PitDivisor = 11932;

    /// <summary>Capacity of the loopback device's receive buffer.</summary>
    public const int LoopbackBuffer = 4096;

    public static void Emit(KernelContext c)
    {
        EmitUart(c);
        EmitConsole(c);
        EmitLoopback(c);
        EmitTimerAndPic(c);
        EmitBenchAndExit(c);
    }

    private static void EmitUart(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        k.Bind("uart_init");
        c.OutByte(UartIer, 0x00);
        c.OutByte(UartLcr, 0x80);
        c.OutByte(UartData, 0x01);   // divisor 1 (115200 baud)
        c.OutByte(UartIer, 0x00);
        c.OutByte(UartLcr, 0x03);    // 8N1
        c.OutByte(UartFcr, 0x00);    // no FIFO: one byte in flight, which the loopback device relies on
        c.OutByte(UartMcr, McrNormal);
        a.ret();

        // uart_putc(AL): waits for the transmit holding register, then writes.
        k.Bind("uart_putc");
        a.mov(ecx, eax);
        EmitWaitLsr(c, LsrTransmitEmpty);
        a.mov(eax, ecx);
        a.mov(edx, UartData);
        c.Pv.PortOut8();
        a.ret();
    }

    /// <summary>Polls the line status register until a bit is set. Clobbers EAX, EDX.</summary>
    private static void EmitWaitLsr(KernelContext c, byte bit)
    {
        var wait = c.NewLabel();
        c.Bind(ref wait);
        c.A.mov(edx, UartLsr);
        c.Pv.PortIn8();
        c.A.test(al, bit);
        c.A.jz(wait);
    }

    private static void EmitConsole(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        // print_str(EAX = NUL-terminated string).
        k.Bind("print_str");
        a.push(esi);
        a.mov(esi, eax);
        var loop = c.NewLabel();
        var done = c.NewLabel();
        c.Bind(ref loop);
        a.movzx(eax, __byte_ptr[esi]);
        a.test(eax, eax);
        a.jz(done);
        k.Call("uart_putc");
        a.inc(esi);
        a.jmp(loop);
        c.Bind(ref done);
        a.pop(esi);
        a.ret();

        // print_hex(EAX): "0x" and eight digits.
        k.Bind("print_hex");
        c.Save(ebx, esi);
        a.mov(ebx, eax);
        a.mov(eax, '0');
        k.Call("uart_putc");
        a.mov(eax, 'x');
        k.Call("uart_putc");
        a.mov(esi, 8);
        var digit = c.NewLabel();
        c.Bind(ref digit);
        a.rol(ebx, 4);
        a.mov(eax, ebx);
        a.and(eax, 15);
        a.movzx(eax, __byte_ptr[eax + k.Addr("hex_digits")]);
        k.Call("uart_putc");
        a.dec(esi);
        a.jnz(digit);
        c.Return(ebx, esi);
        k.Bytes("hex_digits", "0123456789abcdef"u8.ToArray());

        // print_dec(EAX): unsigned decimal.
        k.Bind("print_dec");
        a.push(ebx);
        a.sub(esp, 12);
        a.lea(ebx, __[esp + 11]);
        a.mov(__byte_ptr[ebx], 0);
        a.mov(ecx, 10);
        var next = c.NewLabel();
        c.Bind(ref next);
        a.xor(edx, edx);
        a.div(ecx);
        a.add(dl, (byte)'0');
        a.dec(ebx);
        a.mov(__byte_ptr[ebx], dl);
        a.test(eax, eax);
        a.jnz(next);
        a.mov(eax, ebx);
        k.Call("print_str");
        a.add(esp, 12);
        a.pop(ebx);
        a.ret();

        // console_write(EAX = kernel buffer, EDX = count) -> 0.
        k.Bind("console_write");
        c.Save(esi, edi);
        a.mov(esi, eax);
        a.mov(edi, edx);
        var more = c.NewLabel();
        var end = c.NewLabel();
        c.Bind(ref more);
        a.test(edi, edi);
        a.jz(end);
        a.movzx(eax, __byte_ptr[esi]);
        k.Call("uart_putc");
        a.inc(esi);
        a.dec(edi);
        a.jmp(more);
        c.Bind(ref end);
        a.xor(eax, eax);
        c.Return(esi, edi);
    }

    private static void EmitLoopback(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // loopback_transfer(EAX = kernel buffer, EDX = count) -> count or -EIO. Sends each byte through the UART
        // in loopback mode and appends what the receiver got to the device's receive buffer (the caller checks room).
        k.Bind("loopback_transfer");
        c.Save(esi, edi, ebx);
        a.mov(esi, eax);
        a.mov(edi, edx);
        a.xor(ebx, ebx);
        var room = c.NewLabel();
        a.mov(eax, k.Var("loopback_count"));
        a.add(eax, edx);
        a.cmp(eax, LoopbackBuffer);
        a.jbe(room);
        a.mov(eax, -Errno.EAGAIN);
        c.Return(esi, edi, ebx);
        c.Bind(ref room);
        EmitWaitLsr(c, LsrIdle);          // the last console byte has left before the line is diverted
        c.OutByte(UartMcr, McrLoopback);
        var loop = c.NewLabel();
        var done = c.NewLabel();
        var fail = c.NewLabel();
        c.Bind(ref loop);
        a.cmp(ebx, edi);
        a.jae(done);
        EmitWaitLsr(c, LsrTransmitEmpty);
        a.movzx(eax, __byte_ptr[esi + ebx]);
        a.mov(edx, UartData);
        pv.PortOut8();
        a.mov(ecx, LoopbackPolls);
        var poll = c.NewLabel();
        var ready = c.NewLabel();
        c.Bind(ref poll);
        a.mov(edx, UartLsr);
        pv.PortIn8();
        a.test(al, LsrDataReady);
        a.jnz(ready);
        a.dec(ecx);
        a.jnz(poll);
        a.jmp(fail);
        c.Bind(ref ready);
        a.mov(edx, UartData);
        pv.PortIn8();
        a.mov(ecx, k.Var("loopback_tail"));
        a.mov(__byte_ptr[ecx + k.Addr("loopback_buffer")], al);
        a.inc(ecx);
        a.and(ecx, LoopbackBuffer - 1);
        a.mov(k.Var("loopback_tail"), ecx);
        a.inc(k.Var("loopback_count"));
        a.inc(ebx);
        a.jmp(loop);
        c.Bind(ref fail);
        a.mov(ebx, -Errno.EIO);
        c.Bind(ref done);
        c.OutByte(UartMcr, McrNormal);
        a.mov(eax, ebx);
        c.Return(esi, edi, ebx);
        k.Zeros("loopback_buffer", LoopbackBuffer);
        k.Dword("loopback_head");
        k.Dword("loopback_tail");
        k.Dword("loopback_count");
    }

    private static void EmitTimerAndPic(KernelContext c)
    {
        var (k, a) = (c.K, c.A);
        k.Bind("pic_init");
        c.OutByte(Platform.PicMasterCommand, 0x11);   // ICW1: edge, cascade, ICW4
        c.OutByte(Platform.PicSlaveCommand, 0x11);
        c.OutByte(Platform.PicMasterData, Entry.IrqBase);        // ICW2: vectors 0x20..0x27
        c.OutByte(Platform.PicSlaveData, Entry.IrqBase + 8);     //        and 0x28..0x2F
        c.OutByte(Platform.PicMasterData, 0x04);      // ICW3: slave on IRQ2
        c.OutByte(Platform.PicSlaveData, 0x02);
        c.OutByte(Platform.PicMasterData, 0x01);      // ICW4: 8086 mode
        c.OutByte(Platform.PicSlaveData, 0x01);
        c.OutByte(Platform.PicMasterData, PicMasterMask);
        c.OutByte(Platform.PicSlaveData, 0xFF);
        a.ret();

        k.Bind("pit_init");
        c.OutByte(Platform.PitCommandPort, 0x34);     // channel 0, lobyte/hibyte, rate generator
        c.OutByte(Platform.PitChannel0Port, PitDivisor & 0xFF);
        c.OutByte(Platform.PitChannel0Port, PitDivisor >> 8);
        a.ret();
    }

    /// <summary>The master PIC's interrupt mask: only IRQ0 (the timer) enabled. The "in" workload reads it back.</summary>
    public const byte PicMasterMask = 0xFE;

    private static void EmitBenchAndExit(KernelContext c)
    {
        var (k, a, pv) = (c.K, c.A, c.Pv);
        // bench(EBX = command, ECX = operations).
        k.Bind("sys_bench");
        var end = c.NewLabel();
        var bad = c.NewLabel();
        a.cmp(ebx, (int)Platform.BenchBegin);
        a.jne(end);
        a.mov(eax, ecx);
        a.mov(edx, Platform.BenchOpsPort);
        pv.PortOut32();
        a.mov(eax, Platform.BenchBegin);
        a.mov(edx, Platform.BenchControlPort);
        pv.PortOut32();
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref end);
        a.cmp(ebx, (int)Platform.BenchEnd);
        a.jne(bad);
        a.mov(eax, Platform.BenchEnd);
        a.mov(edx, Platform.BenchControlPort);
        pv.PortOut32();
        a.xor(eax, eax);
        a.ret();
        c.Bind(ref bad);
        a.mov(eax, -Errno.EINVAL);
        a.ret();

        // shutdown(EAX = code): isa-debug-exit (QEMU exits with code*2+1); spins if nothing stops the machine.
        k.Bind("shutdown");
        a.mov(edx, Platform.DebugExitPort);
        pv.PortOut8();
        var spin = c.NewLabel();
        pv.IrqDisable();
        c.Bind(ref spin);
        a.jmp(spin);
    }
}
