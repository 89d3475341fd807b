namespace VirtBench.Machine.Memory;

/// <summary>
/// A guest-physical access that the nested tables did not allow (what an EPT violation reports).
/// </summary>
/// <param name="GuestPhysicalAddress">The guest-physical address accessed.</param>
/// <param name="Access">The access: for a guest paging-structure entry always a read.</param>
/// <param name="PagingStructure">True if the access was to one of the guest's own page-table entries during a walk, false for the final translation.</param>
/// <param name="Present">True if the nested tables map the address (the violation was a write to a read-only mapping).</param>
/// <param name="Writable">True if the nested tables map it writable.</param>
public readonly record struct NestedFault(uint GuestPhysicalAddress, MemoryAccess Access, bool PagingStructure, bool Present, bool Writable);
