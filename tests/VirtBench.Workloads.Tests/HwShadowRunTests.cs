using VirtBench.Workloads.Tests.Runners;

namespace VirtBench.Workloads.Tests;

/// <summary><see cref="WorkloadRunTests"/> on hw-shadow (first-generation VT-x, shadow page tables).</summary>
public sealed class HwShadowWorkloadRunTests() : WorkloadRunTests(new EngineRunner("hw-shadow"));

/// <summary><see cref="KernelBehaviourTests"/> on hw-shadow (first-generation VT-x, shadow page tables).</summary>
public sealed class HwShadowKernelBehaviourTests() : KernelBehaviourTests(new EngineRunner("hw-shadow"));
