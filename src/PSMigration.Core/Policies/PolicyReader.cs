using PSMigration.Core.Yaml;

namespace PSMigration.Core.Policies;

/// <summary>Reads the <c>migration:</c> block of a cluster or a VM.</summary>
internal static class PolicyReader
{
    /// <param name="networks">The names of the inventory's networks, in inventory order: what <c>networks</c> may name.</param>
    public static PolicyBlock? Read(MappingReader owner, bool isVm, IReadOnlyList<string> networks, ProblemSink sink)
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
            Networks = Networks(m, networks, sink),
            Stripe = m.Bool(PolicyKeys.Stripe),
            KeyLocations = PolicyKeys.All.Where(m.Has).ToDictionary(k => k, m.LocationOf),
        };
        m.RejectUnknownKeys();
        return block;
    }

    /// <summary><c>networks</c>: a non-empty list of distinct networks of the inventory, each stored as the inventory spells
    /// it (names ignore case). Any problem is reported at its item and the key reads as unset.</summary>
    private static IReadOnlyList<string>? Networks(MappingReader m, IReadOnlyList<string> defined, ProblemSink sink)
    {
        var value = m.Value(PolicyKeys.Networks);
        if (value is null) return null;
        var items = m.Strings(PolicyKeys.Networks); // reports a value that is not a list, and items that are not text
        if (value is not YamlList list) return null;
        if (list.Items.Count == 0)
        {
            sink.Error(value.Start, $"'{PolicyKeys.Networks}' of {m.What} must name at least one network, in the order to use them; " +
                                    "leave the key out for the planner's choice");
            return null;
        }
        var names = new List<string>();
        foreach (var (text, at) in items)
        {
            var name = defined.FirstOrDefault(n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
            if (name is null)
                sink.Error(at, $"'{PolicyKeys.Networks}' of {m.What} names network '{text}', which is not in networks " +
                               $"({(defined.Count == 0 ? "none is defined" : "known: " + string.Join(", ", defined))}){DidYouMean.Hint(text, defined)}");
            else if (names.Contains(name))
                sink.Error(at, $"'{PolicyKeys.Networks}' of {m.What} names network '{text}' twice: list each network once, in the order to use them");
            else names.Add(name);
        }
        return names.Count == list.Items.Count ? names : null;
    }
}
