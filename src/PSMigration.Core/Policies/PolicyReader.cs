using PSMigration.Core.Yaml;

namespace PSMigration.Core.Policies;

/// <summary>Reads the <c>migration:</c> block of a cluster or a VM.</summary>
internal static class PolicyReader
{
    public static PolicyBlock? Read(MappingReader owner, bool isVm, ProblemSink sink)
    {
        var m = owner.Mapping("migration", "the migration policy");
        if (m is null) return null;

        var parallel = m.Enum<ParallelMode>(PolicyKeys.Parallel);
        if (parallel == ParallelMode.Cluster && !isVm)
        {
            sink.Error(m.LocationOf(PolicyKeys.Parallel), $"parallel: Cluster (inherit) is for VMs only; {owner.What} is a cluster");
            parallel = null;
        }
        var incoming = m.Int(PolicyKeys.MaxConcurrentIncoming, min: 1);
        if (incoming is not null && isVm)
        {
            sink.Error(m.LocationOf(PolicyKeys.MaxConcurrentIncoming),
                $"maxConcurrentIncoming limits the migrations into a host, so it belongs to the host's cluster, not to {owner.What}: set it in the cluster's migration block");
            incoming = null;
        }
        var block = new PolicyBlock
        {
            Parallel = parallel,
            Connections = m.Int(PolicyKeys.Connections, min: 2, max: PolicyKeys.MaxChannels),
            MaxConnections = m.Int(PolicyKeys.MaxConnections, min: 2, max: PolicyKeys.MaxChannels),
            Postcopy = m.Bool(PolicyKeys.Postcopy),
            Compression = m.Enum<CompressionMethod>(PolicyKeys.Compression),
            Transport = m.Enum<MigrationTransport>(PolicyKeys.Transport),
            Encryption = m.Enum<EncryptionMode>(PolicyKeys.Encryption),
            Storage = m.Enum<StorageMode>(PolicyKeys.Storage),
            MaxDowntimeMs = m.Int(PolicyKeys.MaxDowntimeMs, min: 1),
            BandwidthGbps = m.PositiveNumber(PolicyKeys.BandwidthGbps),
            MaxConcurrentIncoming = incoming,
            AutoConverge = m.Bool(PolicyKeys.AutoConverge),
            TimeoutAction = m.Enum<TimeoutAction>(PolicyKeys.TimeoutAction),
            CompletionTimeoutPerGiB = m.Int(PolicyKeys.CompletionTimeoutPerGiB, min: 1, max: 86400),
            ProgressTimeout = m.Int(PolicyKeys.ProgressTimeout, min: 1, max: 86400),
            LinkLossToleranceSeconds = m.Int(PolicyKeys.LinkLossToleranceSeconds, min: 1, max: PolicyKeys.MaxLinkLossToleranceSeconds),
            KeyLocations = PolicyKeys.All.Where(m.Has).ToDictionary(k => k, m.LocationOf),
        };
        m.RejectUnknownKeys();
        return block;
    }
}
