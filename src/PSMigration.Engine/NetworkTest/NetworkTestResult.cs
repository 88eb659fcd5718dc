using System.Net;
using PSMigration.Core;
using PSMigration.Core.Inventory;

namespace PSMigration.Engine.NetworkTest;

/// <summary>One network measured with one connection count: the <c>Test-MigrationNetwork</c> and
/// <c>psmig test-network</c> answer. Property names are the JSON contract (camelCased).</summary>
public sealed record NetworkTestResult
{
    public required string Network { get; init; }
    /// <summary>The network's role in the inventory (management, migration, storage, cluster, vm).</summary>
    public NetworkRole? Role { get; init; }
    public required string SourceHost { get; init; }
    public required string DestinationHost { get; init; }
    public required IPAddress SourceAddress { get; init; }
    public required IPAddress DestinationAddress { get; init; }
    /// <summary>The interface the inventory says the source uses on this network.</summary>
    public required string SourceInterface { get; init; }
    /// <summary>Whether the destination's agent answered (TLS and hello) over this network.</summary>
    public bool Reachable { get; init; }
    public double? RttMs { get; init; }
    public int Connections { get; init; }
    public double? ThroughputGbps { get; init; }
    /// <summary>What the inventory says the path carries: the slower end's speed (bonds counted), for comparison.</summary>
    public double? InventoryGbps { get; init; }
    /// <summary>The interface whose byte counters show it really carried the test, on this machine.</summary>
    public string? CarrierInterface { get; init; }
    /// <summary>The carrier's share of all bytes this machine sent meanwhile (1 = nothing else moved).</summary>
    public double? CarrierShare { get; init; }
    /// <summary>With a sweep: the smallest connection count within 5% of the best throughput.</summary>
    public bool Recommended { get; init; }
    /// <summary>A resilient test's connections that broke and went on over another network (or the same one, back):
    /// the figure then is not this network's alone, and a warning says so.</summary>
    public TextList<Transfer.Failover> Failovers { get; init; } = [];
    public TextList<string> Warnings { get; init; } = [];
    public string? Error { get; init; }
}
