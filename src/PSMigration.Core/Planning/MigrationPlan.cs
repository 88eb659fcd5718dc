using System.Net;
using System.Text.Json.Serialization;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Planning;

/// <summary>A network that was not chosen, and why.</summary>
public sealed record RejectedNetwork(string Network, string Reason)
{
    public override string ToString() => $"{Network}: {Reason}";
}

/// <summary>What a migration will use and why: the answer of <c>Get-MigrationPlan</c> and
/// <c>psmig plan</c>. Property names are the JSON contract (camelCased); modes are enums and addresses
/// <see cref="IPAddress"/>es, turned into words only by the JSON and text writers (the inventory's spelling).</summary>
public sealed record MigrationPlan
{
    public required string Vm { get; init; }
    public required string SourceHost { get; init; }
    public required string DestinationHost { get; init; }
    public required string Network { get; init; }
    public required string SourceInterface { get; init; }
    public required IPAddress SourceAddress { get; init; }
    public required string DestinationInterface { get; init; }
    public required IPAddress DestinationAddress { get; init; }
    /// <summary>The networks that take over, in order, when a connection on <see cref="Network"/> fails (engine transport;
    /// empty with the direct one): <see cref="FailoverPaths"/>, which the policy's <c>networks</c> orders.</summary>
    public IReadOnlyList<NetworkPath> Failover { get; init; } = TextList<NetworkPath>.Empty;
    /// <summary>With policy <c>stripe</c>: the networks the parallel connections are spread over, the carrier
    /// (<see cref="Network"/>) first, with the count on each (<see cref="StripePlan"/>); empty: every connection goes
    /// over <see cref="Network"/>. <see cref="BandwidthGbps"/> is then their sum.</summary>
    public IReadOnlyList<StripeShare> Stripe { get; init; } = TextList<StripeShare>.Empty;
    /// <summary>The destination agent's port.</summary>
    public int DestinationPort { get; init; }
    public double BandwidthGbps { get; init; }
    /// <summary>The policy's bandwidthGbps cap (QEMU's max-bandwidth), or null for none.</summary>
    public double? BandwidthCapGbps { get; init; }
    /// <summary>Whether multifd is on.</summary>
    public bool Parallel { get; init; }
    /// <summary>The policy mode that decided <see cref="Parallel"/> (Disabled, Auto, Parallel, Custom).</summary>
    public required ParallelMode ParallelMode { get; init; }
    public int Connections { get; init; }
    public required CompressionMethod Compression { get; init; }
    public bool Postcopy { get; init; }
    public required MigrationTransport Transport { get; init; }
    public required EncryptionMode Encryption { get; init; }
    public int MaxDowntimeMs { get; init; }
    /// <summary>Whether the VM's local disks are copied with it (policy <c>storage</c>, or -CopyStorage).</summary>
    public StorageMode Storage { get; init; }
    /// <summary>At most this many outgoing migrations per source host at once; null for no limit.</summary>
    public int? MaxConcurrentOutgoing { get; init; }
    /// <summary>At most this many incoming migrations into the destination host at once (its cluster's
    /// <c>maxConcurrentIncoming</c>); null for no limit.</summary>
    public int? MaxConcurrentIncoming { get; init; }
    /// <summary>QEMU's auto-converge: the guest's vCPUs are throttled while it dirties memory faster than it moves.</summary>
    public bool AutoConverge { get; init; }
    /// <summary>What the migration does when it has not converged in time.</summary>
    public TimeoutAction TimeoutAction { get; init; }
    /// <summary>The timeout in seconds per GiB of RAM (policy completionTimeoutPerGiB); null: the default timeout.</summary>
    public int? CompletionTimeoutPerGiB { get; init; }
    /// <summary>Seconds without a fall in the remaining bytes that count as not converging (policy progressTimeout).</summary>
    public int? ProgressTimeoutSeconds { get; init; }
    /// <summary>Seconds the migration may go without a working path to its destination before it gives up (policy
    /// linkLossToleranceSeconds, default 30): after a switch to post-copy, how long a broken link is recovered.</summary>
    public int LinkLossToleranceSeconds { get; init; }
    public required TextList<string> Warnings { get; init; }
    public required TextList<string> Reasons { get; init; }
    public required TextList<RejectedNetwork> Rejected { get; init; }
    public string? InventoryPath { get; init; }
    /// <summary>In a drain plan (<see cref="DrainPlanner"/>): the move's place in the drain, when it is predicted to start
    /// (seconds after the drain starts) and how long it is predicted to take; null for a single migration's plan.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Order { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? StartsAtSeconds { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? PredictedSeconds { get; init; }
    /// <summary>With -Predict (psmig plan --predict): whether it converges, from the running guest's sampled dirty rate.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ConvergencePrediction? Prediction { get; init; }

    /// <summary>Multifd channels, or 1 when parallel is off: the connections QEMU opens for RAM.</summary>
    [JsonIgnore] public int Channels => Parallel ? Connections : 1;
    [JsonIgnore] public bool ViaEngine => Transport == MigrationTransport.Engine;
    [JsonIgnore] public bool Tls => Encryption == EncryptionMode.Tls;
    [JsonIgnore] public bool CopyStorage => Storage == StorageMode.Copy;
    /// <summary>The network each multifd connection goes over, by index: the stripe's networks take their shares in turn
    /// (mig, lan, mig, lan, ...), so every network carries from the first pages on; empty when not striped.</summary>
    [JsonIgnore] public IReadOnlyList<NetworkPath> StripeTurns =>
        Enumerable.Range(0, Stripe.Count == 0 ? 0 : Stripe.Max(s => s.Connections))
            .SelectMany(round => Stripe.Where(s => s.Connections > round).Select(s => s.Path)).ToTextList(); // readable in Export-Csv
    /// <summary>"engine, tls, 4 connection(s)": how the bytes go, for messages and -WhatIf.</summary>
    [JsonIgnore] public string TransportSummary => $"{Spelling.Of(Transport)}, {Spelling.Of(Encryption)}, {Channels} connection(s)";
}
