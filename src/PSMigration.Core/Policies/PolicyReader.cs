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
            MaxConcurrentIncoming = m.Int(PolicyKeys.MaxConcurrentIncoming, min: 1),
            KeyLocations = PolicyKeys.All.Where(m.Has).ToDictionary(k => k, m.LocationOf),
        };
        m.RejectUnknownKeys();
        return block;
    }
}
