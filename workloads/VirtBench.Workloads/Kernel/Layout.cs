namespace VirtBench.Workloads.Kernel;

/// <summary>
/// The guest's memory map. Physical: the kernel image at 1 MiB (below 4 MiB), fixed kernel data structures at
/// 4..8 MiB, the page-frame pool at 8..32 MiB. The kernel always uses exactly 32 MiB, whatever the machine has,
/// so that it behaves identically on every machine. Linear: the low 32 MiB are identity-mapped supervisor-only in
/// every address space (page 0 not present), a kernel "fixmap" page table follows, user space is
/// 0x40000000..0xBFFFFFFF, and the top 64 MiB (0xFC000000 and up) are never used (left to hypervisors).
/// </summary>
internal static class Layout
{
    public const uint Page = 4096;

    /// <summary>RAM the kernel manages (and requires).</summary>
    public const uint KernelRam = 32u << 20;

    /// <summary>The kernel image (text, data, embedded programs) must end below this.</summary>
    public const uint ImageLimit = 0x0040_0000;

    // Fixed kernel data structures (zeroed by the multiboot loader as the image's bss).
    public const uint SwapperPageDirectory = 0x0040_0000;
    public const uint KernelPageTables = 0x0040_1000;           // IdentityTables tables, then the fixmap table
    public const int IdentityTables = (int)(KernelRam >> 22);   // 8 page tables map 0..32 MiB
    public const uint FixmapPageTable = KernelPageTables + IdentityTables * Page;
    public const uint SysenterStackTop = 0x0040_D000;           // the page below is the sysenter trampoline stack
    public const uint VdsoFrame = 0x0040_D000;
    public const uint PtemodFrameA = 0x0040_E000, PtemodFrameB = 0x0040_F000;
    public const uint ProcessTable = 0x0041_0000;
    public const uint PipeTable = 0x0041_8000;
    public const uint PipeBuffers = 0x0042_0000;
    public const uint FrameRefCounts = 0x0043_0000;             // one dword per physical frame (8192)
    public const uint FreeFrameStack = 0x0043_8000;             // a stack of free frame addresses
    public const uint KernelStacks = 0x0044_0000;
    public const uint KernelStackSize = 8192;
    public const uint BootStackTop = 0x0048_4000;
    public const uint BssEnd = 0x0080_0000;

    /// <summary>The page-frame pool: every frame that user pages and page tables come from.</summary>
    public const uint PoolStart = 0x0080_0000, PoolEnd = KernelRam;
    public const int PoolFrames = (int)((PoolEnd - PoolStart) / Page);

    // Linear layout.
    public const uint FixmapBase = KernelRam;                   // PDE 8: kernel-only scratch mappings
    public const uint PtemodWindow = FixmapBase;
    public const int KernelPdes = IdentityTables + 1;           // PDEs shared by every address space
    public const uint UserBase = 0x4000_0000, UserTop = 0xC000_0000;
    public const uint VdsoAddress = UserBase;
    public const uint ProgramBase = UserBase + Page;            // where programs are linked and loaded
    public const uint HeapLimit = 0x6000_0000;
    public const uint MmapBase = 0x6000_0000, MmapSlotSize = 0x0800_0000;
    public const int MmapSlots = 8;
    public const uint StackBottom = 0xBFF0_0000, StackTop = UserTop;
    public const uint HypervisorHole = 0xFC00_0000;

    // Page-table entry bits.
    public const uint PtePresent = 1, PteWritable = 2, PteUser = 4;
    public const uint FrameMask = 0xFFFF_F000;

    // Process table.
    public const int MaxProcesses = 32;
    public const int MaxFds = 16;
    public const int MaxPipes = 16;
    public const uint PipeSize = 4096;
}

/// <summary>Field offsets of a process-table entry (<see cref="Size"/> bytes each).</summary>
internal static class Proc
{
    public const int Size = 512;
    public const int State = 0, Pid = 4, Parent = 8, PageDirectory = 12, SavedEsp = 16, StackTop = 20;
    public const int ExitStatus = 24, WaitChannel = 28, Killed = 32, CatchAddress = 36, Brk = 40, HeapStart = 44;
    public const int Vmas = 64;      // Vma.Count entries of Vma.Size bytes
    public const int Fds = 256;      // Layout.MaxFds dwords: 0 = closed, else FdKind | index << 8

    public const uint Free = 0, Runnable = 1, Sleeping = 2, Zombie = 3;
}

/// <summary>A virtual memory area: [Start, End) with flags. Fixed slots per process.</summary>
internal static class Vma
{
    public const int Size = 12, Start = 0, End = 4, Flags = 8;
    public const int Count = 3 + Layout.MmapSlots;
    public const int Image = 0, Heap = 1, Stack = 2, FirstMmap = 3;
    public const uint Used = 1, Writable = 2;
}

/// <summary>File-descriptor kinds (low byte of a descriptor entry; the high bytes index the object).</summary>
internal static class FdKind
{
    public const uint Console = 1, PipeRead = 2, PipeWrite = 3, Loopback = 4;
}

/// <summary>Field offsets of a pipe (32 bytes each).</summary>
internal static class Pipe
{
    public const int Size = 32, Readers = 0, Writers = 4, Head = 8, Count = 12, Buffer = 16;
}

/// <summary>Offsets in the trap frame that every kernel entry builds (as Linux's pt_regs).</summary>
internal static class Frame
{
    public const int Ebx = 0, Ecx = 4, Edx = 8, Esi = 12, Edi = 16, Ebp = 20, Eax = 24, Ds = 28, Es = 32;
    public const int Vector = 36, Error = 40, Eip = 44, Cs = 48, Eflags = 52, Esp = 56, Ss = 60;
    public const int Size = 64;
}

/// <summary>GDT selectors: flat segments and the TSS.</summary>
internal static class Selector
{
    public const ushort KernelCode = 0x08, KernelData = 0x10, UserCode = 0x1B, UserData = 0x23, Tss = 0x28;
}
