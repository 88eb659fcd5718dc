using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Planning;

/// <summary>What a network test between two hosts measures: every network they share (or the one asked for), and
/// whether the data goes with TLS (by default what the source cluster's policy says, so the test measures what a
/// migration would get). A resilient test carries on over <see cref="Failover"/> (the shared networks open to
/// migrations, best first; never the one measured) within <see cref="LinkLossTolerance"/> (the source cluster's
/// linkLossToleranceSeconds), as a migration would.</summary>
public sealed record NetworkTestPlan(string SourceHost, string DestinationHost, IReadOnlyList<SharedNetwork> Paths, bool Tls)
{
    public IReadOnlyList<NetworkPath> Failover { get; init; } = [];
    public TimeSpan LinkLossTolerance { get; init; }

    /// <summary>Where a resilient test of <paramref name="measured"/> carries on, in order.</summary>
    public IEnumerable<NetworkPath> FailoverFrom(SharedNetwork measured) => Failover.Where(f => f.Network != measured.Network.Name);

    public static NetworkTestPlan For(MigrationInventory inventory, string sourceName, string destinationName, string? network, EncryptionMode? encryption)
    {
        var source = inventory.Host(sourceName);
        var destination = inventory.Host(destinationName);
        if (source == destination)
            throw new MigrationException("SameHost", FailureKind.InvalidInput, $"Source and destination are both {source.Name}", source.Name);
        var (shared, notShared, open) = NetworkSelector.Shared(inventory, source, destination);
        if (network is not null)
        {
            var only = inventory.Network(network).Name; // an unknown name fails here, with a did-you-mean
            shared = shared.Where(s => s.Network.Name == only).ToList();
            if (shared.Count == 0)
                throw new MigrationException("NetworkNotShared", FailureKind.OperationFailed,
                    $"Network '{only}' is not shared by {source.Name} and {destination.Name}: {notShared.First(n => n.Network == only).Reason}", only);
        }
        if (shared.Count == 0)
            throw new MigrationException("NoSharedNetwork", FailureKind.OperationFailed,
                $"{source.Name} and {destination.Name} share no network:{Environment.NewLine}" +
                string.Join(Environment.NewLine, notShared.Select(n => $"  {n.Network}: {n.Reason}")), $"{source.Name}->{destination.Name}");
        var policy = source.Cluster is { } cluster ? inventory.ClusterPolicy(cluster) : null;
        var tls = (encryption ?? policy?.Encryption ?? PolicyResolver.Defaults.Encryption!.Value) == EncryptionMode.Tls;
        return new NetworkTestPlan(source.Name, destination.Name, shared, tls)
        {
            Failover = open.Select(NetworkPath.Of).ToList(),
            LinkLossTolerance = TimeSpan.FromSeconds(policy?.LinkLossToleranceSeconds ?? PolicyResolver.Defaults.LinkLossToleranceSeconds!.Value),
        };
    }
}
