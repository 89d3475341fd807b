using VirtBench.Workloads.Tests.Runners;

namespace VirtBench.Workloads.Tests;

/// <summary><see cref="WorkloadRunTests"/> on hw-ept (VT-x with nested paging).</summary>
public sealed class HwEptWorkloadRunTests() : WorkloadRunTests(new EngineRunner("hw-ept"));

/// <summary><see cref="KernelBehaviourTests"/> on hw-ept (VT-x with nested paging).</summary>
public sealed class HwEptKernelBehaviourTests() : KernelBehaviourTests(new EngineRunner("hw-ept"));
