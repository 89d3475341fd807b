using VirtBench.Engines.Paravirt;
using VirtBench.Machine;
using VirtBench.Workloads.Assembly;
using static Iced.Intel.AssemblerRegisters;
using static VirtBench.Machine.ParavirtAbi;

namespace VirtBench.Engines.Tests.Paravirt;

/// <summary>
/// A hand-written paravirtual guest (not the workload kernel) booted by the domain builder, with the hypervisor
/// kept for inspection: for tests that make hypercalls the real kernel never makes.
/// </summary>
internal sealed class TestDomain
{
    /// <summary>Guest RAM of test domains.</summary>
    public const uint RamBytes = 64u << 20;

    /// <summary>Where a test guest keeps its hypercall arguments (guest-physical = linear in the bootstrap map).</summary>
    public const uint Arguments = 0x5000;

    /// <summary>Where a test guest stores its results, one dword each.</summary>
    public const uint Results = 0x6000;

    private TestDomain(Pc pc, Hypervisor hypervisor)
    {
        Pc = pc;
        Hypervisor = hypervisor;
    }

    /// <summary>The machine.</summary>
    public Pc Pc { get; }

    /// <summary>The hypervisor, for inspecting its state.</summary>
    public Hypervisor Hypervisor { get; }

    /// <summary>The layout of the hypervisor's frames.</summary>
    public static HypervisorLayout Layout { get; } = HypervisorLayout.For(RamBytes);

    /// <summary>Builds a domain whose kernel is <paramref name="emit"/> (entered at ring 1, paging on, events masked).</summary>
    public static TestDomain Boot(Action<CodeBuilder> emit)
    {
        var code = CodeBuilder.Build(Platform.KernelLoadAddress + Multiboot.HeaderSize, k =>
        {
            k.Bind("entry");
            emit(k);
        });
        var image = new GuestImage(Multiboot.CreateImage(code.Bytes, code["entry"]), "pv-test", KernelFlavor.Paravirtual);
        var pc = new Pc(image, new MachineOptions { RamBytes = RamBytes, VmmBytes = Layout.VmmBytes, InstructionBudget = 10_000_000 });
        return new TestDomain(pc, DomainBuilder.Build(pc));
    }

    /// <summary>Runs the guest to its end.</summary>
    public RunOutcome Run() => Pc.Run();

    /// <summary>Result dword <paramref name="index"/> the guest stored.</summary>
    public int Result(int index) => (int)Pc.Memory.Read32(Results + (uint)index * 4);

    /// <summary>Emits mmu_update with one request {ptr = EBX, val = ECX}; EAX = the result, stored as result <paramref name="index"/>.</summary>
    public static void MmuUpdate(CodeBuilder k, int index)
    {
        var a = k.A;
        a.mov(__dword_ptr[Arguments], ebx);
        a.mov(__dword_ptr[Arguments + 4], 0);
        a.mov(__dword_ptr[Arguments + 8], ecx);
        a.mov(__dword_ptr[Arguments + 12], 0);
        a.mov(ebx, Arguments);
        a.mov(ecx, 1);
        a.xor(edx, edx);
        a.mov(esi, DomainSelf);
        Call(k, ParavirtAbi.Hypercall.MmuUpdate, index);
    }

    /// <summary>Emits mmuext_op with one operation {command, argument = EBX}, stored as result <paramref name="index"/>.</summary>
    public static void MmuExtOp(CodeBuilder k, uint command, int index)
    {
        var a = k.A;
        a.mov(__dword_ptr[Arguments], command);
        a.mov(__dword_ptr[Arguments + 4], ebx);
        a.mov(ebx, Arguments);
        a.mov(ecx, 1);
        a.xor(edx, edx);
        a.mov(esi, DomainSelf);
        Call(k, ParavirtAbi.Hypercall.MmuExtOp, index);
    }

    /// <summary>Emits a hypercall with its arguments in place and stores EAX as result <paramref name="index"/>.</summary>
    public static void Call(CodeBuilder k, uint number, int index)
    {
        k.A.mov(eax, number);
        k.A.@int(HypercallVector);
        k.A.mov(__dword_ptr[Results + (uint)index * 4], eax);
    }

    /// <summary>Emits a console write of <paramref name="text"/> and a poweroff.</summary>
    public static void Finish(CodeBuilder k, string text)
    {
        var a = k.A;
        a.mov(ebx, ParavirtAbi.ConsoleIo.Write);
        a.mov(ecx, text.Length);
        a.mov(edx, k.String(text));
        a.mov(eax, ParavirtAbi.Hypercall.ConsoleIo);
        a.@int(HypercallVector);
        a.mov(__dword_ptr[Arguments], 0);
        a.mov(ebx, SchedOp.Shutdown);
        a.mov(ecx, Arguments);
        a.mov(eax, ParavirtAbi.Hypercall.SchedOp);
        a.@int(HypercallVector);
    }
}
