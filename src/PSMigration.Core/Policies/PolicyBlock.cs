using PSMigration.Core.Diagnostics;

namespace PSMigration.Core.Policies;

/// <summary>A <c>migration:</c> block as written in the inventory, on a cluster or a VM.
/// Absent keys are null: they inherit (VM from cluster, cluster from the defaults).</summary>
public sealed record PolicyBlock
{
    public ParallelMode? Parallel { get; init; }
    public int? Connections { get; init; }
    public int? MaxConnections { get; init; }
    public bool? Postcopy { get; init; }
    public CompressionMethod? Compression { get; init; }
    public MigrationTransport? Transport { get; init; }
    public EncryptionMode? Encryption { get; init; }
    public StorageMode? Storage { get; init; }
    public int? MaxDowntimeMs { get; init; }
    public double? BandwidthGbps { get; init; }
    /// <summary>At most this many migrations arriving at one destination host at once; null: no limit.</summary>
    public int? MaxConcurrentIncoming { get; init; }
    public bool? AutoConverge { get; init; }
    public TimeoutAction? TimeoutAction { get; init; }
    /// <summary>Seconds per GiB of RAM the memory's migration may take.</summary>
    public int? CompletionTimeoutPerGiB { get; init; }
    /// <summary>Seconds without a fall in the remaining bytes.</summary>
    public int? ProgressTimeout { get; init; }
    /// <summary>Seconds without a working path to the destination before the migration gives up.</summary>
    public int? LinkLossToleranceSeconds { get; init; }
    /// <summary>Network names as the inventory defines them, in the order to use them: the first carries the migration.</summary>
    public IReadOnlyList<string>? Networks { get; init; }
    /// <summary>Spread an engine migration's connections over several networks, rather than keep the others for failover.</summary>
    public bool? Stripe { get; init; }

    /// <summary>Where each key's value stands, to point errors about combinations at the file.</summary>
    public IReadOnlyDictionary<string, SourceLocation> KeyLocations { get; init; } =
        new Dictionary<string, SourceLocation>();

    public static PolicyBlock Empty { get; } = new();

    /// <summary>As written in YAML: "parallel: Custom, connections: 4".</summary>
    public override string ToString() =>
        string.Join(", ", PolicyKeys.All.Select(k => (k, Value: PolicyKeys.YamlValue(this, k))).Where(e => e.Value is not null).Select(e => $"{e.k}: {e.Value}"));
}
