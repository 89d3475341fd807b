namespace VirtBench.Workloads.Kernel;

/// <summary>
/// System call numbers (Linux i386 numbers where Linux has the call). Calls enter through <c>int 0x80</c> or
/// through the vDSO's <c>sysenter</c> stub with EAX = number and arguments in EBX, ECX, EDX, ESI, EDI; the result
/// (or a negative errno) comes back in EAX; every other register is preserved.
/// </summary>
internal static class Sys
{
    /// <summary>exit(status): ends the process; the parent's wait sees status &amp; 0xFF.</summary>
    public const uint Exit = 1;
    /// <summary>fork(): copy-on-write copy of the process; 0 in the child, the child's pid in the parent.</summary>
    public const uint Fork = 2;
    /// <summary>read(fd, buffer, count): bytes read, 0 at end of file; pipes block while empty.</summary>
    public const uint Read = 3;
    /// <summary>write(fd, buffer, count): bytes written; pipes block while full.</summary>
    public const uint Write = 4;
    /// <summary>open(device): a descriptor for device 0 (console) or 1 (serial loopback).</summary>
    public const uint Open = 5;
    /// <summary>close(fd).</summary>
    public const uint Close = 6;
    /// <summary>waitpid(pid or -1, status pointer or 0): reaps a zombie child, blocks while children live.</summary>
    public const uint WaitPid = 7;
    /// <summary>exec(program, argument): replaces the image with an embedded program; it starts with EAX = argument.</summary>
    public const uint Exec = 11;
    /// <summary>getpid().</summary>
    public const uint GetPid = 20;
    /// <summary>kill(pid): the process exits with status 0x109 at its next return to user mode.</summary>
    public const uint Kill = 37;
    /// <summary>pipe(int fds[2]): fds[0] reads, fds[1] writes.</summary>
    public const uint Pipe = 42;
    /// <summary>brk(address): moves the end of the heap (0 queries); returns the (new) end.</summary>
    public const uint Brk = 45;
    /// <summary>mmap(length, protection): an anonymous demand-zero area of up to 128 MiB; its address.</summary>
    public const uint Mmap = 90;
    /// <summary>munmap(address, length): unmaps a whole area that mmap returned.</summary>
    public const uint Munmap = 91;
    /// <summary>sysinfo(which): 0 free page frames, 1 free process slots, 2 free pipes.</summary>
    public const uint SysInfo = 116;
    /// <summary>mprotect(address, length, protection): changes the protection of a whole mmap area.</summary>
    public const uint Mprotect = 125;
    /// <summary>sched_yield().</summary>
    public const uint Yield = 158;
    /// <summary>catch(address): fatal exceptions resume at address with EAX = vector, EDX = faulting EIP (0 disarms).</summary>
    public const uint Catch = 200;
    /// <summary>kbench(kind, count): runs a kernel-mode nanobenchmark loop; returns its checksum.</summary>
    public const uint KernelBench = 201;
    /// <summary>bench(command, operations): 1 opens the measured region with the operation count, 2 closes it.</summary>
    public const uint Bench = 202;

    /// <summary>One past the highest number.</summary>
    public const uint Count = 203;
}

/// <summary>Error numbers, returned negated (Linux values).</summary>
internal static class Errno
{
    public const int EPERM = 1, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12;
    public const int EFAULT = 14, EINVAL = 22, EMFILE = 24, EPIPE = 32, ENOSYS = 38;
}

/// <summary>Arguments of the kbench call.</summary>
internal static class KernelBenchKind
{
    public const uint In = 0, IrqFlags = 1, CallRet = 2, PteMod = 3;
}

/// <summary>Protection bits of mmap and mprotect.</summary>
internal static class Prot
{
    public const uint Read = 1, Write = 2;
}

/// <summary>Devices that open() knows.</summary>
internal static class Device
{
    public const uint Console = 0, SerialLoopback = 1;
}

/// <summary>Wait statuses of processes the kernel ended.</summary>
internal static class ExitStatus
{
    /// <summary>Killed by an exception: this plus the vector.</summary>
    public const uint FaultBase = 0x100;
    /// <summary>Killed by kill().</summary>
    public const uint Killed = 0x109;
}
