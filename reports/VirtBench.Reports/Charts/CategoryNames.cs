using VirtBench.Machine;

namespace VirtBench.Reports.Charts;

/// <summary>Readable names of event categories for legends and tables.</summary>
public static class CategoryNames
{
    /// <summary>The category's name as reports show it.</summary>
    public static string Of(EventCategory category) => category switch
    {
        EventCategory.GuestExecution => "guest execution",
        EventCategory.Interpretation => "interpretation (decode/dispatch)",
        EventCategory.Tlb => "TLB and page walks",
        EventCategory.TrapsAndEmulation => "traps and emulation",
        EventCategory.VirtualDelivery => "virtual delivery",
        EventCategory.ShadowPaging => "shadow paging",
        EventCategory.BinaryTranslation => "binary translation",
        EventCategory.Hypercalls => "hypercalls",
        EventCategory.VmExits => "VM exits",
        EventCategory.VmEntriesAndVmcs => "VM entries and VMCS",
        EventCategory.DeviceEmulation => "device emulation",
        _ => category.ToString(),
    };
}
