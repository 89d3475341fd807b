using System.Diagnostics;
using System.Text;
using VirtBench.Machine;

namespace VirtBench.Engines.Peers;

/// <summary>
/// Boots a guest image in QEMU (TCG), the external oracle for correctness and the peer for speed:
/// <c>qemu-system-i386 -kernel IMAGE -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot</c>.
/// </summary>
public static class Qemu
{
    /// <summary>The QEMU binary this class runs.</summary>
    public const string Binary = "qemu-system-i386";

    /// <summary>The full path of qemu-system-i386 on PATH, or null when QEMU is not installed.</summary>
    public static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            var path = Path.Combine(dir, Binary);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Why QEMU tests or peers cannot run here, or null when they can.</summary>
    public static string? UnavailableReason() =>
        Find() is null ? $"{Binary} is not installed (apt-get install qemu-system-x86)" : null;

    /// <summary>QEMU's version line (e.g. "QEMU emulator version 7.2.22"), or the binary's name when it does not say.</summary>
    public static string Version()
    {
        string qemu = Find() ?? throw new InvalidOperationException(UnavailableReason());
        using var process = Process.Start(new ProcessStartInfo(qemu, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        string first = process.StandardOutput.ReadLine() ?? "";
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return first.Trim().Length > 0 ? first.Trim() : Binary;
    }

    /// <summary>
    /// Runs the image until the guest exits through isa-debug-exit, QEMU stops, or <paramref name="timeout"/>
    /// passes (then QEMU is killed and <see cref="QemuRun.TimedOut"/> is set).
    /// </summary>
    public static QemuRun Run(GuestImage image, TimeSpan timeout, int memoryMiB = 128)
    {
        string qemu = Find() ?? throw new InvalidOperationException(UnavailableReason());
        string file = Path.Combine(Path.GetTempPath(), $"virtbench-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(file, image.Bytes);
        try
        {
            var psi = new ProcessStartInfo(qemu)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[]
                     {
                         "-kernel", file, "-m", memoryMiB.ToString(), "-display", "none", "-serial", "stdio",
                         "-monitor", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-no-reboot",
                     })
                psi.ArgumentList.Add(arg);
            var stopwatch = Stopwatch.StartNew();
            using var process = Process.Start(psi)!;
            // stdin stays open until QEMU exits: with -serial stdio, a closed stdin is a hang-up on the serial
            // chardev, and QEMU's 16550 then drops bytes whenever the stdout pipe is momentarily full.
            var output = new MemoryStream();
            var copyOutput = process.StandardOutput.BaseStream.CopyToAsync(output);
            var readError = process.StandardError.ReadToEndAsync();
            bool exited = process.WaitForExit(timeout);
            if (!exited)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                process.WaitForExit();
            }
            stopwatch.Stop();
            process.StandardInput.Close();
            copyOutput.Wait();
            string text = Encoding.Latin1.GetString(output.ToArray()).Replace("\r", "");
            return new QemuRun(exited ? process.ExitCode : -1, text, readError.Result, !exited, stopwatch.Elapsed);
        }
        finally
        {
            File.Delete(file);
        }
    }
}

/// <summary>One QEMU run: exit status (isa-debug-exit gives value*2+1), serial output, stderr, host time.</summary>
public sealed record QemuRun(int ExitStatus, string SerialOutput, string StandardError, bool TimedOut, TimeSpan HostTime);
