namespace VirtBench.Machine.Memory;

/// <summary>The kind of a memory access, for permission checks and page-fault error codes.</summary>
public enum MemoryAccess
{
    /// <summary>A data read.</summary>
    Read,
    /// <summary>A data write.</summary>
    Write,
    /// <summary>An instruction fetch (checked like a read: 32-bit paging has no execute-disable).</summary>
    Execute,
}

/// <summary>The result of translating a linear address.</summary>
public enum TranslateStatus
{
    /// <summary>Translated to a machine address inside memory.</summary>
    Ok,
    /// <summary>A page fault: see the error code and CR2 value.</summary>
    PageFault,
    /// <summary>Nested paging: the nested tables lack a mapping for a guest-physical address (EPT violation).</summary>
    NestedFault,
    /// <summary>Translated, but to an address outside machine memory (reads all ones, writes dropped).</summary>
    OpenBus,
}
