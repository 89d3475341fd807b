using Iced.Intel;
using VirtBench.Machine;
using VirtBench.Workloads.Assembly;
using VirtBench.Workloads.Kernel.PvOps;
using VirtBench.Workloads.Kernel;

namespace VirtBench.Workloads.Tests;

/// <summary>The catalog and the image builder: names, errors, determinism, layout.</summary>
public sealed class ImageBuilderTests
{
    [Fact]
    public void The_catalog_has_the_ten_nanobenchmarks_and_eight_macrobenchmarks_of_the_design()
    {
        Assert.Equal(["syscall", "sysenter", "in", "irqflags", "callret", "ptemod", "pgfault", "divzero", "cpuid", "rdtsc"],
            WorkloadCatalog.All.Where(w => w.Kind == WorkloadKind.Nano).Select(w => w.Name));
        Assert.Equal(["forkwait", "ctxswitch", "mmap", "pipe", "spawn", "io", "server", "compute"],
            WorkloadCatalog.All.Where(w => w.Kind == WorkloadKind.Macro).Select(w => w.Name));
        Assert.All(WorkloadCatalog.All, w =>
        {
            Assert.False(string.IsNullOrWhiteSpace(w.Description));
            Assert.DoesNotContain('\n', w.Description);
            Assert.InRange(w.DefaultIterations, 1u, w.MaxIterations);
            Assert.Equal(w.DefaultIterations, (uint)w.Operations(w.DefaultIterations));
        });
    }

    [Fact]
    public void An_unknown_workload_is_refused_with_the_list_of_names()
    {
        var e = Assert.Throws<ArgumentException>(() => WorkloadCatalog.Get("nope"));
        Assert.StartsWith("unknown workload 'nope': expected one of syscall, sysenter, in,", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Zero_or_too_many_iterations_are_refused_with_a_one_line_reason()
    {
        var zero = Assert.Throws<ArgumentException>(() => ImageBuilder.Build("forkwait", KernelFlavor.Native, 0));
        Assert.StartsWith("iterations for 'forkwait' must be at least 1 (got 0)", zero.Message);
        var huge = Assert.Throws<ArgumentException>(() => ImageBuilder.Build("forkwait", KernelFlavor.Native, uint.MaxValue));
        Assert.StartsWith("iterations for 'forkwait' must be at most 100000 (got 4294967295)", huge.Message);
    }

    [Fact]
    public void The_paravirtual_flavor_is_the_same_kernel_with_another_pv_ops_seam()
    {
        var programs = WorkloadCatalog.Get("server").Programs(5);
        var native = ImageBuilder.BuildKernel("server", KernelFlavor.Native, programs);
        var paravirtual = ImageBuilder.BuildKernel("server", KernelFlavor.Paravirtual, programs);
        Assert.Equal(KernelFlavor.Paravirtual, paravirtual.Image.Flavor);
        Assert.NotEqual(native.Image.Bytes, paravirtual.Image.Bytes);

        // Outside the seam's ranges the two kernels are the same instruction sequence (addresses aside).
        string[] OutsideSeam(AssembledCode code)
        {
            var seam = code.Ranges.Where(r => r.Tag.StartsWith(PvOps.TagPrefix, StringComparison.Ordinal)).ToArray();
            return GuestCode.Instructions(code).Where(i => !seam.Any(r => r.Contains((uint)i.IP)))
                .Select(i => i.Mnemonic == Mnemonic.Nop ? "" : i.Mnemonic.ToString()).Where(m => m != "").ToArray();
        }
        Assert.Equal(OutsideSeam(native.Kernel), OutsideSeam(paravirtual.Kernel));
    }

    [Fact]
    public void Building_twice_gives_identical_bytes()
    {
        foreach (var workload in WorkloadCatalog.All)
            foreach (var flavor in new[] { KernelFlavor.Native, KernelFlavor.Paravirtual })
                Assert.Equal(ImageBuilder.Build(workload, flavor, 7).Bytes, ImageBuilder.Build(workload, flavor, 7).Bytes);
    }

    [Fact]
    public void The_image_is_a_multiboot_kernel_below_4_MiB_whose_loader_zeroes_the_kernel_data_area()
    {
        var build = ImageBuilder.BuildKernel("syscall", KernelFlavor.Native, WorkloadCatalog.Get("syscall").Programs(10));
        var header = Multiboot.Parse(build.Image.Bytes);
        Assert.Equal(Platform.KernelLoadAddress, header.LoadAddress);
        Assert.Equal(build.Kernel["kernel_entry"], header.EntryAddress);
        Assert.Equal(Layout.BssEnd, header.BssEndAddress);
        Assert.True(header.LoadEndAddress <= Layout.ImageLimit);
        Assert.Equal("syscall-10", ImageBuilder.Build("syscall", KernelFlavor.Native, 10).Name);
        Assert.Equal(build.Kernel["schedule"], build.Image.Symbols.AddressOf("schedule"));
        Assert.Equal("page_fault+0x3", build.Image.Symbols.Describe(build.Kernel["page_fault"] + 3));
    }

    [Fact]
    public void Kernel_data_starts_on_its_own_page_so_data_stores_never_touch_code_pages()
    {
        var build = ImageBuilder.BuildKernel("syscall", KernelFlavor.Native, WorkloadCatalog.Get("syscall").Programs(10));
        foreach (var code in build.Programs.Append(build.Kernel))
        {
            uint firstData = code.Symbols.Where(s => s.Value >= code.TextEnd && s.Key != "text_end").Min(s => s.Value);
            Assert.Equal(0u, firstData % Layout.Page);
            Assert.True(firstData / Layout.Page > (code.TextEnd - 1) / Layout.Page);
        }
    }

    [Fact]
    public void The_IDT_and_GDT_have_a_page_to_themselves()
    {
        var kernel = ImageBuilder.BuildKernel("syscall", KernelFlavor.Native, WorkloadCatalog.Get("syscall").Programs(10)).Kernel;
        uint page = kernel["idt"];
        Assert.Equal(0u, page % Layout.Page);
        var onPage = kernel.Symbols.Where(s => s.Value >= page && s.Value < page + Layout.Page).Select(s => s.Key).Order();
        Assert.Equal(["gdt", "gdt_pointer", "idt", "idt_pointer", "tss.unaligned"], onPage);
    }

    [Fact]
    public void Expected_checksums_depend_on_the_iteration_count()
    {
        foreach (var workload in WorkloadCatalog.All)
        {
            Assert.NotEqual(workload.ExpectedChecksum(3), workload.ExpectedChecksum(4));
            Assert.NotEqual(0u, workload.ExpectedChecksum(3));
        }
    }
}
