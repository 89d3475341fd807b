using System.CommandLine;
using VirtBench.Machine;

namespace VirtBench.Cli.Commands;

/// <summary><c>virtbench image WORKLOAD -o FILE</c>: writes a workload's multiboot image, bootable with <c>qemu-system-i386 -kernel FILE</c>.</summary>
internal static class ImageCommand
{
    public static Command Create(Toolbox toolbox, TextWriter output)
    {
        var workload = new Argument<string>("workload") { Description = "The workload (see virtbench list)" };
        var flavor = new Option<string>("--flavor", "-f") { Description = "Kernel build: native or paravirtual", DefaultValueFactory = _ => "native" };
        flavor.AcceptOnlyFromAmong("native", "paravirtual");
        var iterations = Options.Whole<uint>("--iterations", "Iterations (default: the workload's default)", 1, uint.MaxValue);
        iterations.Aliases.Add("-n");
        var file = new Option<string>("--output", "-o") { Description = "File to write", Required = true };
        var command = new Command("image", "Write a workload's bootable multiboot image (boots in qemu-system-i386 -kernel)") { workload, flavor, iterations, file };
        command.SetAction(parse =>
        {
            var spec = toolbox.Workload(parse.GetValue(workload)!);
            var kernel = parse.GetValue(flavor) == "paravirtual" ? KernelFlavor.Paravirtual : KernelFlavor.Native;
            uint n = parse.GetResult(iterations) is { Implicit: false } ? parse.GetValue(iterations) : spec.DefaultIterations;
            var image = spec.BuildImage(kernel, n);
            string path = parse.GetValue(file)!;
            File.WriteAllBytes(path, image.Bytes);
            output.WriteLine($"wrote {path}: {spec.Name}, {kernel.ToString().ToLowerInvariant()} kernel, {n} iterations, {image.Bytes.Length} bytes " +
                             $"(boot it with: qemu-system-i386 -kernel {path} -serial stdio -display none -device isa-debug-exit,iobase=0xf4,iosize=0x04)");
            return Program.Success;
        });
        return command;
    }
}
