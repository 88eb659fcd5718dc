using PSMigration.Core.Diagnostics;

namespace PSMigration.Core.Policies;

/// <summary>Applies inheritance: defaults, then the cluster's block, then the VM's block, key by key.
/// A VM's <c>parallel: Cluster</c> counts as unset.</summary>
internal static class PolicyResolver
{
    /// <summary>The defaults of DESIGN.md: Auto, 16 connections at most, no postcopy, no compression,
    /// direct transport, TLS (secure unless a policy says otherwise), shared storage (only memory moves
    /// unless a policy asks for the disks), 300 ms downtime, no bandwidth cap, no limit on incoming migrations, no
    /// auto-converge, cancel at the timeout (the VM stays where it was), 30 s without a path to the destination, no
    /// networks list (the planner chooses), and no striping (the other networks are for failover).</summary>
    public static PolicyBlock Defaults { get; } = new()
    {
        Parallel = ParallelMode.Auto,
        MaxConnections = 16,
        Postcopy = false,
        Compression = CompressionMethod.None,
        Transport = MigrationTransport.Direct,
        Encryption = EncryptionMode.Tls,
        Storage = StorageMode.Shared,
        MaxDowntimeMs = 300,
        AutoConverge = false,
        TimeoutAction = TimeoutAction.Cancel,
        LinkLossToleranceSeconds = 30,
        Stripe = false,
    };

    public static EffectivePolicy ForCluster(string cluster, PolicyBlock? block, string? inventoryPath) =>
        Resolve("Cluster", cluster, cluster, inventoryPath,
            (block ?? PolicyBlock.Empty, $"cluster '{cluster}'"));

    /// <param name="cluster">The VM's cluster (through its host); null when the host has none.</param>
    public static EffectivePolicy ForVm(string vm, string? cluster, PolicyBlock? clusterBlock, PolicyBlock? vmBlock, string? inventoryPath)
    {
        var own = vmBlock ?? PolicyBlock.Empty;
        if (own.Parallel == ParallelMode.Cluster)
            own = own with { Parallel = null, KeyLocations = own.KeyLocations.Where(k => k.Key != PolicyKeys.Parallel).ToDictionary() };
        return Resolve("VM", vm, cluster, inventoryPath,
            (clusterBlock ?? PolicyBlock.Empty, $"cluster '{cluster}'"),
            (own, $"VM '{vm}'"));
    }

    private static EffectivePolicy Resolve(string scope, string name, string? cluster, string? inventoryPath,
        params (PolicyBlock Block, string Description)[] layers)
    {
        var sources = new Dictionary<string, PolicySource>(PolicyKeys.All.Count);
        // The block closest to the VM that sets the key (its source noted), else the defaults.
        PolicyBlock From(string key, Func<PolicyBlock, bool> sets)
        {
            for (var i = layers.Length - 1; i >= 0; i--)
            {
                if (!sets(layers[i].Block)) continue;
                var at = layers[i].Block.KeyLocations.TryGetValue(key, out var location) ? location : (SourceLocation?)null;
                sources[key] = new PolicySource(layers[i].Description, at);
                return layers[i].Block;
            }
            sources[key] = PolicySource.Default;
            return Defaults;
        }
        T Pick<T>(string key, Func<PolicyBlock, T?> get) where T : struct => get(From(key, b => get(b) is not null)) ?? default;
        // A list is taken whole: a VM's networks replace its cluster's.
        TextList<string>? PickList(string key, Func<PolicyBlock, IReadOnlyList<string>?> get) =>
            get(From(key, b => get(b) is not null))?.ToTextList();
        T? PickOptional<T>(string key, Func<PolicyBlock, T?> get) where T : struct
        {
            var value = Pick(key, get);
            return sources[key] == PolicySource.Default && get(Defaults) is null ? null : value;
        }

        return new EffectivePolicy
        {
            Scope = scope,
            Name = name,
            Cluster = cluster,
            Parallel = Pick(PolicyKeys.Parallel, b => b.Parallel),
            Connections = PickOptional(PolicyKeys.Connections, b => b.Connections),
            MaxConnections = Pick(PolicyKeys.MaxConnections, b => b.MaxConnections),
            Postcopy = Pick(PolicyKeys.Postcopy, b => b.Postcopy),
            Compression = Pick(PolicyKeys.Compression, b => b.Compression),
            Transport = Pick(PolicyKeys.Transport, b => b.Transport),
            Encryption = Pick(PolicyKeys.Encryption, b => b.Encryption),
            Storage = Pick(PolicyKeys.Storage, b => b.Storage),
            MaxDowntimeMs = Pick(PolicyKeys.MaxDowntimeMs, b => b.MaxDowntimeMs),
            BandwidthGbps = PickOptional(PolicyKeys.BandwidthGbps, b => b.BandwidthGbps),
            MaxConcurrentIncoming = PickOptional(PolicyKeys.MaxConcurrentIncoming, b => b.MaxConcurrentIncoming),
            AutoConverge = Pick(PolicyKeys.AutoConverge, b => b.AutoConverge),
            TimeoutAction = Pick(PolicyKeys.TimeoutAction, b => b.TimeoutAction),
            CompletionTimeoutPerGiB = PickOptional(PolicyKeys.CompletionTimeoutPerGiB, b => b.CompletionTimeoutPerGiB),
            ProgressTimeout = PickOptional(PolicyKeys.ProgressTimeout, b => b.ProgressTimeout),
            LinkLossToleranceSeconds = Pick(PolicyKeys.LinkLossToleranceSeconds, b => b.LinkLossToleranceSeconds),
            Networks = PickList(PolicyKeys.Networks, b => b.Networks),
            Stripe = Pick(PolicyKeys.Stripe, b => b.Stripe),
            Sources = new PolicySources(sources),
            InventoryPath = inventoryPath,
            RefusedKeys = layers.SelectMany(l => l.Block.KeyLocations.Keys.Where(k => PolicyKeys.YamlValue(l.Block, k) is null)).ToHashSet(),
        };
    }
}
