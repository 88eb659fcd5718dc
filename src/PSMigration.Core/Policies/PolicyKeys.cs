using System.Globalization;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Policies;

/// <summary>The keys of a policy block, and how their values are written back as YAML.</summary>
public static class PolicyKeys
{
    public const string Parallel = "parallel";
    public const string Connections = "connections";
    public const string MaxConnections = "maxConnections";
    public const string Postcopy = "postcopy";
    public const string Compression = "compression";
    public const string Transport = "transport";
    public const string Encryption = "encryption";
    public const string Storage = "storage";
    public const string MaxDowntimeMs = "maxDowntimeMs";
    public const string BandwidthGbps = "bandwidthGbps";
    /// <summary>At most this many migrations arrive at one destination host at once (a drain reads the
    /// destination host's cluster policy); absent means no limit.</summary>
    public const string MaxConcurrentIncoming = "maxConcurrentIncoming";
    /// <summary>QEMU's auto-converge: throttle the guest's vCPUs while it dirties memory faster than it moves.</summary>
    public const string AutoConverge = "autoConverge";
    /// <summary>What to do when the migration has not converged in time: cancel, postcopy or pause.</summary>
    public const string TimeoutAction = "timeoutAction";
    /// <summary>The timeout, in seconds per GiB of the VM's RAM (instead of ten copies of its RAM at the planned bandwidth).</summary>
    public const string CompletionTimeoutPerGiB = "completionTimeoutPerGiB";
    /// <summary>Seconds without a fall in the remaining bytes after which the timeout action is taken.</summary>
    public const string ProgressTimeout = "progressTimeout";
    /// <summary>Seconds one migration may go without a working path to its destination before it gives up
    /// (after a switch to post-copy: how long a broken link is recovered).</summary>
    public const string LinkLossToleranceSeconds = "linkLossToleranceSeconds";
    /// <summary>The networks one migration may use, in order: the first carries it, the next take over when a connection
    /// on it fails (engine transport only). Absent: the planner's choice, and every other shared network open to migrations.</summary>
    public const string Networks = "networks";
    /// <summary>true: one engine migration's connections are spread over several networks (those of <c>networks</c>, else every
    /// shared one open to migrations), each bound to its own source address; false: the others only take over on a break.</summary>
    public const string Stripe = "stripe";

    /// <summary>In the order a new block is written.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Parallel, Connections, MaxConnections, Postcopy, Compression, Transport, Encryption, Storage, MaxDowntimeMs, BandwidthGbps,
         MaxConcurrentIncoming, AutoConverge, TimeoutAction, CompletionTimeoutPerGiB, ProgressTimeout, LinkLossToleranceSeconds, Networks, Stripe];

    /// <summary>The key as spelt in the inventory, whatever the case given ("MaxDowntimeMs" -> "maxDowntimeMs").</summary>
    public static string? Find(string key) => All.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));

    /// <summary>The longest linkLossToleranceSeconds: an hour without a path is a migration to give up.</summary>
    public const int MaxLinkLossToleranceSeconds = 3600;

    /// <summary>QEMU's limit on multifd channels.</summary>
    public const int MaxChannels = 255;

    /// <summary>The value of <paramref name="key"/> in <paramref name="block"/> as plain YAML, or null when unset.</summary>
    public static string? YamlValue(PolicyBlock block, string key) => key switch
    {
        Parallel => block.Parallel is { } p ? Spelling<ParallelMode>.Of(p) : null,
        Connections => Number(block.Connections),
        MaxConnections => Number(block.MaxConnections),
        Postcopy => block.Postcopy is { } b ? (b ? "true" : "false") : null,
        Compression => block.Compression is { } c ? Spelling<CompressionMethod>.Of(c) : null,
        Transport => block.Transport is { } t ? Spelling<MigrationTransport>.Of(t) : null,
        Encryption => block.Encryption is { } e ? Spelling<EncryptionMode>.Of(e) : null,
        Storage => block.Storage is { } s ? Spelling<StorageMode>.Of(s) : null,
        MaxDowntimeMs => Number(block.MaxDowntimeMs),
        BandwidthGbps => block.BandwidthGbps?.ToString("R", CultureInfo.InvariantCulture),
        MaxConcurrentIncoming => Number(block.MaxConcurrentIncoming),
        AutoConverge => block.AutoConverge is { } a ? (a ? "true" : "false") : null,
        TimeoutAction => block.TimeoutAction is { } t ? Spelling<Policies.TimeoutAction>.Of(t) : null,
        CompletionTimeoutPerGiB => Number(block.CompletionTimeoutPerGiB),
        ProgressTimeout => Number(block.ProgressTimeout),
        LinkLossToleranceSeconds => Number(block.LinkLossToleranceSeconds),
        Networks => block.Networks is { } names ? YamlText.FlowSequence(names) : null,
        Stripe => block.Stripe is { } s ? (s ? "true" : "false") : null,
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a policy key"),
    };

    private static string? Number(int? value) => value?.ToString(CultureInfo.InvariantCulture);
}
