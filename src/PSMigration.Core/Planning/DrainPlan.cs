using PSMigration.Core.Inventory;

namespace PSMigration.Core.Planning;

/// <summary>A VM a drain cannot place, and why (every host it could have gone to, with its reason).</summary>
public sealed record UnplacedVm(string Vm, long MemoryMiB, string Reason)
{
    public override string ToString() => $"{Vm}: {Reason}";
}

/// <summary>How a host is emptied (<c>Get-MigrationPlan -FromHost</c>, <c>psmig plan --from-host</c>): a plan for each
/// VM in the order the moves start, with when each starts and how long it takes, the whole drain's predicted time,
/// and the VMs no host can take. Property names are the JSON contract.</summary>
public sealed record DrainPlan
{
    public required string Host { get; init; }
    public required TextList<MigrationPlan> Plans { get; init; }
    public required TextList<UnplacedVm> Unplaced { get; init; }
    /// <summary>From the first move's start to the last one's end, as predicted.</summary>
    public double PredictedSeconds { get; init; }
    /// <summary>At most this many moves leave the host at once (the plans' maxConcurrentOutgoing); null for no limit.</summary>
    public int? MaxConcurrentOutgoing { get; init; }
    /// <summary>Each decision of the drain (which hosts take VMs and why not the others, the limits, the prediction's model).</summary>
    public required TextList<string> Reasons { get; init; }
    public string? InventoryPath { get; init; }
}
