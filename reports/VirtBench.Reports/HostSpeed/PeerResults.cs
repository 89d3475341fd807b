using VirtBench.Reports.Results;

namespace VirtBench.Reports.HostSpeed;

/// <summary>
/// What <c>virtbench peers</c> measured: the same images booted in QEMU (TCG), their output checked against the
/// native engine's, and QEMU's host time at two sizes. The content of peers.json in the report folder.
/// </summary>
/// <param name="Created">When the comparison finished.</param>
/// <param name="Host">The machine that ran it.</param>
/// <param name="Qemu">QEMU's version line.</param>
/// <param name="Repeats">QEMU runs per size; the fastest counts (boot time varies, the work does not).</param>
/// <param name="Images">One entry per workload or speed loop.</param>
public sealed record PeerResults(DateTimeOffset Created, HostInfo Host, string Qemu, int Repeats, IReadOnlyList<PeerImageResult> Images)
{
    /// <summary>The document's "schema" value.</summary>
    public string Schema => HostMeasurements.PeersSchema;
}

/// <summary>One image in QEMU.</summary>
/// <param name="Name">The workload or speed loop.</param>
/// <param name="OutputMatches">Whether QEMU's serial output and exit status equal the native engine's at both sizes.</param>
/// <param name="Message">The first difference when they do not match (empty otherwise).</param>
/// <param name="Qemu">QEMU's fastest host time at both sizes; operations and guest instructions are the native engine's counts.</param>
public sealed record PeerImageResult(string Name, bool OutputMatches, string Message, TwoSizeTiming Qemu);
