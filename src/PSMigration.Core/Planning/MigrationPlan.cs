namespace PSMigration.Core.Planning;

/// <summary>A network that was not chosen, and why.</summary>
public sealed record RejectedNetwork(string Network, string Reason)
{
    public override string ToString() => $"{Network}: {Reason}";
}

/// <summary>What a migration will use and why: the answer of <c>Get-MigrationPlan</c> and
/// <c>psmig plan</c>. Property names are the JSON contract (camelCased).</summary>
public sealed record MigrationPlan
{
    public required string Vm { get; init; }
    public required string SourceHost { get; init; }
    public required string DestinationHost { get; init; }
    public required string Network { get; init; }
    public required string SourceInterface { get; init; }
    public required string SourceAddress { get; init; }
    public required string DestinationInterface { get; init; }
    public required string DestinationAddress { get; init; }
    /// <summary>The destination agent's port.</summary>
    public int DestinationPort { get; init; }
    public double BandwidthGbps { get; init; }
    /// <summary>The policy's bandwidthGbps cap (QEMU's max-bandwidth), or null for none.</summary>
    public double? BandwidthCapGbps { get; init; }
    /// <summary>Whether multifd is on.</summary>
    public bool Parallel { get; init; }
    /// <summary>The policy mode that decided <see cref="Parallel"/> (Disabled, Auto, Parallel, Custom).</summary>
    public required string ParallelMode { get; init; }
    public int Connections { get; init; }
    public required string Compression { get; init; }
    public bool Postcopy { get; init; }
    public required string Transport { get; init; }
    public required string Encryption { get; init; }
    public int MaxDowntimeMs { get; init; }
    /// <summary>At most this many outgoing migrations per source host at once; null for no limit.</summary>
    public int? MaxConcurrentOutgoing { get; init; }
    public required TextList<string> Warnings { get; init; }
    public required TextList<string> Reasons { get; init; }
    public required TextList<RejectedNetwork> Rejected { get; init; }
    public string? InventoryPath { get; init; }
}
