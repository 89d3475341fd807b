using VirtBench.Workloads.Kernel;
using VirtBench.Workloads.Programs;
using VirtBench.Workloads.Tests.Runners;
using VirtBench.Workloads.User;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Workloads.User.UserCode;

namespace VirtBench.Workloads.Tests;

/// <summary>
/// The guest kernel's behaviour, observed from user programs: no leaks, fault isolation, preemption, pipes that
/// block and wake, and system calls that refuse bad pointers without harm. Written against a runner.
/// </summary>
public abstract class KernelBehaviourTests(GuestRunner runner)
{
    private GuestRunResult Run(KernelBuild build)
    {
        Skip.If(runner.UnavailableReason is not null, runner.UnavailableReason);
        var result = runner.Run(build.Image);
        Assert.True(result.Succeeded, result.Describe());
        return result;
    }

    [SkippableFact]
    public void A_thousand_fork_exit_wait_cycles_leak_no_frames_process_slots_or_pipes()
    {
        const int cycles = 1000;
        var build = TestImages.Build(runner.Flavor, "leaks", u =>
        {
            var a = u.A;
            uint fds = u.Buffer("fds", 8), buffer = u.Buffer("buffer", 4);
            u.K.Call("cycle");    // warm-up: the parent's own pages and page tables are in place afterwards
            foreach (var (info, slot) in new[] { (0, "frames0"), (1, "slots0"), (2, "pipes0") })
            {
                u.Call(Sys.SysInfo, info);
                a.mov(Skeleton.At(u, slot), eax);
            }
            a.mov(ebp, cycles);
            var loop = u.NewLabel();
            u.Bind(ref loop);
            u.K.Call("cycle");
            a.dec(ebp);
            a.jnz(loop);
            foreach (var (info, name) in new[] { (0, "frames"), (1, "slots"), (2, "pipes") })
            {
                u.Call(Sys.SysInfo, info);
                a.mov(ebx, Skeleton.At(u, name + "0"));
                u.Print($"{name} ", Dec(ebx), " ", Dec(eax), "\n");
            }
            u.Exit(0);
            // One cycle: a pipe, a child that grows its heap, maps and touches memory, writes its stack (copy-on-write)
            // and the pipe, then exits; the parent reads to end of file, closes and reaps.
            var child = u.NewLabel();
            u.K.Bind("cycle");
            u.Call(Sys.Pipe, fds);
            Skeleton.ExpectSuccess(u, "pipe");
            u.Int80(Sys.Fork);
            Skeleton.ExpectSuccess(u, "fork");
            a.test(eax, eax);
            a.jz(child);
            a.mov(ebx, Skeleton.At(u, "fds", 4));
            u.Int80(Sys.Close);
            var drain = u.NewLabel();
            u.Bind(ref drain);
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Call(Sys.Read, ebx, buffer, 4);
            a.test(eax, eax);
            a.jnz(drain);
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Int80(Sys.Close);
            u.Call(Sys.WaitPid, -1, 0);
            Skeleton.ExpectSuccess(u, "waitpid");
            a.ret();
            u.Bind(ref child);
            u.Call(Sys.Brk, 0);
            a.mov(esi, eax);
            a.lea(ebx, __[eax + 8192]);
            u.Int80(Sys.Brk);
            a.mov(__dword_ptr[esi + 4096], esi);
            u.Call(Sys.Mmap, 3 * 4096, Prot.Read | Prot.Write);
            a.mov(__dword_ptr[eax + 8192], eax);
            a.push(eax);
            a.pop(eax);
            a.mov(ebx, Skeleton.At(u, "fds", 4));
            u.Call(Sys.Write, ebx, buffer, 4);
            u.Exit(0);
            foreach (var name in new[] { "frames0", "slots0", "pipes0" }) Skeleton.Variable(u, name);
        });
        var result = Run(build);

        var counts = result.Lines.Skip(1).Select(line => line.Split(' ')).ToDictionary(p => p[0], p => (Before: int.Parse(p[1]), After: int.Parse(p[2])));
        Assert.Equal(counts["frames"].Before, counts["frames"].After);
        Assert.Equal(counts["slots"].Before, counts["slots"].After);
        Assert.Equal(counts["pipes"].Before, counts["pipes"].After);
        Assert.Equal(Layout.MaxProcesses - 1, counts["slots"].After);
        Assert.Equal(Layout.MaxPipes, counts["pipes"].After);
        Assert.InRange(counts["frames"].After, Layout.PoolFrames - 64, Layout.PoolFrames - 1);
    }

    private static readonly (string Name, Action<UserCode> Fault, string Message, uint Status)[] Faults =
    [
        ("null", u => u.A.mov(eax, __dword_ptr[0]), "page fault at 0x00000000", 0x10E),
        ("cli", u => u.A.cli(), "general protection fault", 0x10D),
        ("ud2", u => u.A.ud2(), "invalid opcode", 0x106),
        ("vdso-write", u => u.A.mov(__dword_ptr[Layout.VdsoAddress], eax), "page fault at 0x40000000", 0x10E),
        ("kernel-read", u => u.A.mov(eax, __dword_ptr[0x0010_0000]), "page fault at 0x00100000", 0x10E),
        ("divide", u => u.A.div(ecx), "divide error", 0x100),
    ];

    [SkippableFact]
    public void A_faulting_process_is_killed_with_a_message_and_the_others_continue()
    {
        var build = TestImages.Build(runner.Flavor, "faults", u =>
        {
            var a = u.A;
            uint status = Skeleton.Variable(u, "status");
            foreach (var (name, fault, _, _) in Faults)
            {
                var parent = u.NewLabel();
                u.Int80(Sys.Fork);
                a.test(eax, eax);
                a.jnz(parent);
                a.xor(ecx, ecx);
                u.K.Bind($"fault.{name}");
                fault(u);
                u.Exit(0);
                u.Bind(ref parent);
                u.Call(Sys.WaitPid, -1, status);
                a.mov(eax, Skeleton.At(u, "status"));
                u.Print("status ", Hex(eax), "\n");
            }
            u.Print("survived\n");
            u.Exit(0);
        });
        var result = Run(build);

        var expected = new List<string> { "VirtBench guest kernel" };
        int pid = 2;
        foreach (var (name, _, message, status) in Faults)
        {
            expected.Add($"killed pid {pid++}: {message} (eip 0x{build.Symbol($"fault.{name}"):x8})");
            expected.Add($"status 0x{status:x8}");
        }
        expected.Add("survived");
        Assert.Equal(expected, result.Lines);
    }

    [SkippableFact]
    public void A_cpu_bound_process_does_not_starve_another()
    {
        var build = TestImages.Build(runner.Flavor, "preemption", u =>
        {
            var a = u.A;
            uint status = Skeleton.Variable(u, "status");
            var parent = u.NewLabel();
            u.Int80(Sys.Fork);
            a.test(eax, eax);
            a.jnz(parent);
            var spin = u.NewLabel();
            u.Bind(ref spin);
            a.jmp(spin);                          // never yields: only the timer takes the CPU back
            u.Bind(ref parent);
            a.mov(esi, eax);
            u.Int80(Sys.Yield);                   // the spinner runs now
            u.Print("parent ran\n");
            u.Call(Sys.Kill, esi);
            u.Call(Sys.WaitPid, esi, status);
            a.mov(eax, Skeleton.At(u, "status"));
            u.Print("spinner status ", Hex(eax), "\n");
            u.Exit(0);
        });
        var result = Run(build);
        Assert.Equal(["VirtBench guest kernel", "parent ran", "spinner status 0x00000109"], result.Lines);
    }

    [SkippableFact]
    public void Pipes_block_and_wake_readers_and_writers_and_report_end_of_file_and_broken_pipes()
    {
        const int total = 3 * 4096 + 100;        // more than the pipe holds: the writer must block
        var build = TestImages.Build(runner.Flavor, "pipes", u =>
        {
            var a = u.A;
            uint fds = u.Buffer("fds", 8), buffer = u.Buffer("buffer", total), status = Skeleton.Variable(u, "status");
            u.Call(Sys.Pipe, fds);
            u.Int80(Sys.Fork);
            var child = u.NewLabel();
            a.test(eax, eax);
            a.jz(child);

            // Parent: the first read blocks (the child has not run yet); read everything to end of file.
            a.mov(ebx, Skeleton.At(u, "fds", 4));
            u.Int80(Sys.Close);
            a.xor(esi, esi);                      // bytes
            a.xor(edi, edi);                      // sum of bytes
            var read = u.NewLabel();
            var sum = u.NewLabel();
            var eof = u.NewLabel();
            u.Bind(ref read);
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Call(Sys.Read, ebx, buffer, 1000);
            a.test(eax, eax);
            a.jle(eof);
            a.add(esi, eax);
            a.mov(ecx, buffer);
            u.Bind(ref sum);
            a.movzx(edx, __byte_ptr[ecx]);
            a.add(edi, edx);
            a.inc(ecx);
            a.dec(eax);
            a.jnz(sum);
            a.jmp(read);
            u.Bind(ref eof);
            u.Print("received ", Dec(esi), " bytes, sum ", Dec(edi), ", then ", Hex(eax), "\n");
            u.Call(Sys.WaitPid, -1, status);
            a.mov(eax, Skeleton.At(u, "status"));
            u.Print("writer status ", Dec(eax), "\n");

            // A pipe without readers: EPIPE. A descriptor that is not open: EBADF.
            u.Call(Sys.Pipe, fds);
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Int80(Sys.Close);
            a.mov(ebx, Skeleton.At(u, "fds", 4));
            u.Call(Sys.Write, ebx, buffer, 1);
            u.Print("broken pipe ", Hex(eax), "\n");
            u.Call(Sys.Read, 15, buffer, 1);
            u.Print("closed descriptor ", Hex(eax), "\n");
            u.Exit(0);

            // Child: one write larger than the pipe, of bytes i & 0xFF; exits with the count written / 100.
            u.Bind(ref child);
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Int80(Sys.Close);
            a.xor(ecx, ecx);
            var fill = u.NewLabel();
            u.Bind(ref fill);
            a.mov(__byte_ptr[ecx + buffer], cl);
            a.inc(ecx);
            a.cmp(ecx, total);
            a.jb(fill);
            a.mov(ebx, Skeleton.At(u, "fds", 4));
            u.Call(Sys.Write, ebx, buffer, total);
            a.mov(ebx, 100);
            a.xor(edx, edx);
            a.div(ebx);
            a.mov(ebx, eax);
            u.Int80(Sys.Exit);
        });
        var result = Run(build);

        int expectedSum = Enumerable.Range(0, total).Sum(i => i & 0xFF);
        Assert.Equal(
            ["VirtBench guest kernel", $"received {total} bytes, sum {expectedSum}, then 0x00000000", $"writer status {total / 100}",
             "broken pipe 0xffffffe0", "closed descriptor 0xfffffff7"], result.Lines);
    }

    [SkippableFact]
    public void System_calls_refuse_bad_user_pointers_with_efault_and_the_kernel_survives()
    {
        var build = TestImages.Build(runner.Flavor, "pointers", u =>
        {
            var a = u.A;
            uint fds = u.Buffer("fds", 8), text = u.K.String("abcd");
            void Report(string what) => u.Print(what + " ", Hex(eax), "\n");
            u.Call(Sys.Write, 1, 0, 10); Report("null");
            u.Call(Sys.Write, 1, Layout.UserTop - 4, 10); Report("past user space");
            u.Call(Sys.Write, 1, 0x0010_0000, 4); Report("kernel source");
            u.Call(Sys.Pipe, 0x10); Report("pipe array");
            u.Call(Sys.Pipe, fds);
            a.mov(ebx, Skeleton.At(u, "fds", 4));
            u.Call(Sys.Write, ebx, text, 4); Report("write");
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Call(Sys.Read, ebx, 0x0010_0000, 4); Report("kernel destination");
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Call(Sys.Read, ebx, 0x7000_0000, 4); Report("unmapped destination");
            // A mapped but untouched page: the kernel's own copy faults it in.
            u.Call(Sys.Mmap, 4096, Prot.Read | Prot.Write);
            a.mov(esi, eax);
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Call(Sys.Read, ebx, esi, 4); Report("demand-zero destination");
            a.mov(eax, __dword_ptr[esi]); Report("received");
            // A read-only page: the kernel's write faults (CR0.WP) and the call fails.
            u.Call(Sys.Mprotect, esi, 4096, Prot.Read); Report("mprotect");
            a.mov(ebx, Skeleton.At(u, "fds", 4));
            u.Call(Sys.Write, ebx, text, 4);
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Call(Sys.Read, ebx, esi, 4); Report("read-only destination");
            u.Call(Sys.Munmap, esi, 8192); Report("munmap wrong length");
            u.Call(Sys.Exec, 99, 0); Report("exec unknown program");
            u.Call(Sys.Catch, 0x1000); Report("catch outside user space");
            u.Int80(150); Report("unassigned call");
            u.Int80(100_000); Report("out of range call");
            u.Call(Sys.WaitPid, -1, 0); Report("wait without children");
            u.Int80(Sys.Fork);
            var parent = u.NewLabel();
            a.test(eax, eax);
            a.jnz(parent);
            u.Exit(5);
            u.Bind(ref parent);
            u.Call(Sys.WaitPid, -1, 0x0010_0000); Report("kernel status pointer");
            u.Print("kernel ok\n");
            u.Exit(0);
        });
        var result = Run(build);
        Assert.Equal(
        [
            "VirtBench guest kernel",
            "null 0xfffffff2", "past user space 0xfffffff2", "kernel source 0xfffffff2", "pipe array 0xfffffff2",
            "write 0x00000004", "kernel destination 0xfffffff2", "unmapped destination 0xfffffff2",
            "demand-zero destination 0x00000004", "received 0x64636261", "mprotect 0x00000000",
            "read-only destination 0xfffffff2", "munmap wrong length 0xffffffea", "exec unknown program 0xffffffea",
            "catch outside user space 0xffffffea", "unassigned call 0xffffffda", "out of range call 0xffffffda",
            "wait without children 0xfffffff6", "kernel status pointer 0xfffffff2", "kernel ok",
        ], result.Lines);
    }

    [SkippableFact]
    public void Fork_shares_memory_copy_on_write_even_when_the_kernel_writes_it()
    {
        var build = TestImages.Build(runner.Flavor, "cow", u =>
        {
            var a = u.A;
            uint fds = u.Buffer("fds", 8), value = Skeleton.Variable(u, "value"), magic = Skeleton.Variable(u, "magic");
            a.mov(Skeleton.At(u, "value"), 1111);
            a.mov(Skeleton.At(u, "magic"), 7777);
            u.Call(Sys.Pipe, fds);
            u.Int80(Sys.Fork);
            var parent = u.NewLabel();
            a.test(eax, eax);
            a.jnz(parent);
            a.mov(eax, Skeleton.At(u, "value"));
            u.Print("child sees ", Dec(eax), "\n");
            a.mov(ebx, Skeleton.At(u, "fds"));
            u.Call(Sys.Read, ebx, value, 4);      // the kernel writes a page the parent still shares
            a.mov(eax, Skeleton.At(u, "value"));
            u.Print("child reads ", Dec(eax), "\n");
            u.Exit(0);
            u.Bind(ref parent);
            a.mov(ebx, Skeleton.At(u, "fds", 4));
            u.Call(Sys.Write, ebx, magic, 4);
            u.Call(Sys.WaitPid, -1, 0);
            a.mov(eax, Skeleton.At(u, "value"));
            u.Print("parent keeps ", Dec(eax), "\n");
            u.Exit(0);
        });
        var result = Run(build);
        Assert.Equal(["VirtBench guest kernel", "child sees 1111", "child reads 7777", "parent keeps 1111"], result.Lines);
    }

    [SkippableFact]
    public void The_kernel_does_not_trust_the_user_data_segments_or_direction_flag()
    {
        var build = TestImages.Build(runner.Flavor, "segments", u =>
        {
            var a = u.A;
            a.push(0);
            a.pop(ds);
            a.push(0);
            a.pop(es);
            a.std();
            u.Sysenter(Sys.GetPid);
            a.mov(esi, eax);
            u.Int80(Sys.GetPid);
            a.mov(edi, eax);
            a.push(Selector.UserData);
            a.pop(ds);
            a.push(Selector.UserData);
            a.pop(es);
            u.Print("pids ", Dec(esi), " ", Dec(edi), " with the direction flag set\n");
            a.cld();
            u.Exit(0);
        });
        var result = Run(build);
        Assert.Equal(["VirtBench guest kernel", "pids 1 1 with the direction flag set"], result.Lines);
    }

    [SkippableFact]
    public void Exec_replaces_the_image_and_passes_its_argument()
    {
        var build = TestImages.Build(runner.Flavor, "exec", u =>
        {
            var a = u.A;
            uint status = Skeleton.Variable(u, "status");
            u.Int80(Sys.Fork);
            var parent = u.NewLabel();
            a.test(eax, eax);
            a.jnz(parent);
            u.Call(Sys.Exec, 1, 42);
            u.Exit(99);
            u.Bind(ref parent);
            u.Call(Sys.WaitPid, -1, status);
            a.mov(eax, Skeleton.At(u, "status"));
            u.Print("exec status ", Dec(eax), "\n");
            u.Exit(0);
        }, u =>
        {
            u.A.mov(esi, eax);
            u.Print("hello from program 1 with ", Dec(esi), "\n");
            u.A.lea(ebx, __[esi + 1]);
            u.Int80(Sys.Exit);
        });
        var result = Run(build);
        Assert.Equal(["VirtBench guest kernel", "hello from program 1 with 42", "exec status 43"], result.Lines);
    }
}

/// <summary><see cref="KernelBehaviourTests"/> on QEMU.</summary>
public sealed class QemuKernelBehaviourTests() : KernelBehaviourTests(new QemuRunner());

/// <summary><see cref="KernelBehaviourTests"/> on the native engine.</summary>
public sealed class NativeKernelBehaviourTests() : KernelBehaviourTests(new EngineRunner("native"));

/// <summary><see cref="KernelBehaviourTests"/> on the binary-translation engine.</summary>
public sealed class BinaryTranslationKernelBehaviourTests() : KernelBehaviourTests(new EngineRunner("binary-translation"));

/// <summary><see cref="KernelBehaviourTests"/> on the paravirt engine (paravirtual kernel).</summary>
public sealed class ParavirtKernelBehaviourTests() : KernelBehaviourTests(new EngineRunner("paravirt"));
/// <summary><see cref="KernelBehaviourTests"/> on trap-and-emulate on the Popek-Goldberg CPU.</summary>
public sealed class TrapEmulatePgKernelBehaviourTests() : KernelBehaviourTests(new EngineRunner("trap-emulate-pg"));
