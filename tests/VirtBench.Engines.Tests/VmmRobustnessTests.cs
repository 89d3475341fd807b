using VirtBench.Machine;

namespace VirtBench.Engines.Tests;

/// <summary>A misbehaving guest kernel gets guest exceptions or a clean stop from the VMM, never a host exception or a hang.</summary>
public class VmmRobustnessTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (string engine in new[] { "trap-emulate", "trap-emulate-pg", "binary-translation" })
            for (int seed = 1; seed <= 40; seed++) data.Add(engine, seed);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Random_bytes_as_kernel_code_end_in_guest_exceptions_or_a_clean_stop(string engine, int seed)
    {
        var random = new Random(seed);
        var code = new byte[2048];
        random.NextBytes(code);
        bool paging = seed % 2 == 0;
        var image = BareKernel.Build($"random-{seed}", (a, _) =>
        {
            if (paging) BareKernel.EnablePaging(a);
            a.db(code);
        });
        var run = EngineCatalog.Get(engine).Run(image, new RunOptions { Machine = new MachineOptions { InstructionBudget = 200_000 } });

        Assert.True(run.Outcome.Kind != OutcomeKind.EngineStop || !run.Outcome.Message.StartsWith("VMM error", StringComparison.Ordinal), run.Outcome.ToString());
        if (run.Outcome.Kind == OutcomeKind.DebugExit) Assert.Matches("^(vector=[0-9a-f]{8} error=[0-9a-f]{8} cr2=[0-9a-f]{8} eip=[0-9a-f]{8}\n|done\n)", run.UartOutput);
    }
}
