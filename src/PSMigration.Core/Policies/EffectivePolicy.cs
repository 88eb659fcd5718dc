using PSMigration.Core.Diagnostics;

namespace PSMigration.Core.Policies;

/// <summary>Which block a policy value came from.</summary>
public sealed record PolicySource(string Description, SourceLocation? Location)
{
    public static PolicySource Default { get; } = new("default", null);
    public override string ToString() => Description;
}

/// <summary>Policy key to the block its value came from. Its text lists them ("parallel: VM 'db01'; ..."),
/// so Export-Csv shows where each value comes from.</summary>
public sealed class PolicySources(IReadOnlyDictionary<string, PolicySource> sources) : IReadOnlyDictionary<string, PolicySource>
{
    private readonly Dictionary<string, PolicySource> sources = new(sources);

    public PolicySource this[string key] => sources[key];
    public IEnumerable<string> Keys => sources.Keys;
    public IEnumerable<PolicySource> Values => sources.Values;
    public int Count => sources.Count;
    public bool ContainsKey(string key) => sources.ContainsKey(key);
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out PolicySource value) => sources.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, PolicySource>> GetEnumerator() => sources.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => sources.GetEnumerator();

    public override string ToString() => string.Join(TextList.Separator, sources.Select(s => $"{s.Key}: {s.Value}"));
}

/// <summary>The policy in force for a cluster or a VM once inheritance is applied, with where each
/// value came from. This is what <c>Get-MigrationPolicy</c> and <c>psmig policy get</c> show.</summary>
public sealed record EffectivePolicy
{
    /// <summary>"Cluster" or "VM".</summary>
    public required string Scope { get; init; }
    public required string Name { get; init; }
    public string? Cluster { get; init; }
    public ParallelMode Parallel { get; init; }
    public int? Connections { get; init; }
    public int MaxConnections { get; init; }
    public bool Postcopy { get; init; }
    public CompressionMethod Compression { get; init; }
    public MigrationTransport Transport { get; init; }
    public EncryptionMode Encryption { get; init; }
    public StorageMode Storage { get; init; }
    public int MaxDowntimeMs { get; init; }
    public double? BandwidthGbps { get; init; }
    /// <summary>At most this many migrations arrive at one destination host at once; null: no limit.
    /// A drain plan reads it from the destination host's cluster policy.</summary>
    public int? MaxConcurrentIncoming { get; init; }
    /// <summary>QEMU's auto-converge (vCPU throttling while the guest out-dirties the link).</summary>
    public bool AutoConverge { get; init; }
    /// <summary>What a migration does when it has not converged in time (default cancel).</summary>
    public TimeoutAction TimeoutAction { get; init; }
    /// <summary>The timeout in seconds per GiB of RAM; null: ten copies of the RAM at the planned bandwidth, at least two minutes.</summary>
    public int? CompletionTimeoutPerGiB { get; init; }
    /// <summary>Seconds without a fall in the remaining bytes before the timeout action; null: only the timeout.</summary>
    public int? ProgressTimeout { get; init; }
    /// <summary>Seconds the migration may go without a working path to its destination before it gives up (default 30);
    /// after a switch to post-copy, how long a broken link is recovered.</summary>
    public int LinkLossToleranceSeconds { get; init; }
    /// <summary>The networks a migration may use, in order (policy <c>networks</c>): the first carries it unless a network is
    /// asked for by name, the next take over when a connection fails (engine transport). Null: the planner's choice.</summary>
    public TextList<string>? Networks { get; init; }
    /// <summary>true: one engine migration's connections are spread over several networks (those of <see cref="Networks"/> in
    /// its order, else every shared network open to migrations), each bound to its own source address, and the plan sums their
    /// bandwidth. false (default): the other networks only take over when a connection breaks. The direct transport and
    /// libvirt domains never stripe.</summary>
    public bool Stripe { get; init; }
    /// <summary>Policy key to the block it came from ("default", "cluster 'prod'", "VM 'web01'").</summary>
    public required PolicySources Sources { get; init; }
    public string? InventoryPath { get; init; }

    /// <summary>Keys written in a block along the way whose value was refused when the inventory was read
    /// (already reported there): rules that need them say nothing more.</summary>
    internal IReadOnlySet<string> RefusedKeys { get; init; } = new HashSet<string>();

    /// <summary>The values alone, as a block, for writing them out.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public PolicyBlock Values => new()
    {
        Parallel = Parallel, Connections = Connections, MaxConnections = MaxConnections, Postcopy = Postcopy,
        Compression = Compression, Transport = Transport, Encryption = Encryption, Storage = Storage,
        MaxDowntimeMs = MaxDowntimeMs, BandwidthGbps = BandwidthGbps, MaxConcurrentIncoming = MaxConcurrentIncoming,
        AutoConverge = AutoConverge, TimeoutAction = TimeoutAction, CompletionTimeoutPerGiB = CompletionTimeoutPerGiB, ProgressTimeout = ProgressTimeout,
        LinkLossToleranceSeconds = LinkLossToleranceSeconds, Networks = Networks, Stripe = Stripe,
    };
}
