using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Planning;

/// <summary>A network a striped migration uses, and how many of its parallel connections go over it. Property names
/// are the JSON contract (camelCased), as in <see cref="MigrationPlan"/>.</summary>
public sealed record StripeShare(NetworkPath Path, int Connections)
{
    /// <summary>"2 connection(s) over mig (mig0 198.51.100.1 -> mig0 198.51.100.2, 10 Gbps)".</summary>
    public override string ToString() => $"{Connections} connection(s) over {Path}";
}

/// <summary>
/// Striping (DESIGN.md "Resilient and striped channels", policy <c>stripe</c>): the networks one engine migration
/// spreads its parallel connections over, each connection bound to its own source address. They are the carrier and
/// the networks that would take over from it (<see cref="FailoverPaths"/>: the policy's <c>networks</c> in its order,
/// or every shared network open to migrations), so a striped connection that breaks fails over within them. The
/// connection count rule applies to their summed bandwidth; the connections are shared out in proportion to each
/// network's bandwidth, at least one each, and with fewer connections than networks the first networks only are used.
/// </summary>
internal static class StripePlan
{
    /// <summary>The networks a stripe may use, in order (the carrier first); one network when the policy does not stripe
    /// or cannot here, with the reason.</summary>
    public static (IReadOnlyList<NetworkPath> Candidates, string? Reason) Candidates(NetworkChoice choice, FailoverDecision failover, EffectivePolicy policy)
    {
        var carrier = NetworkPath.Of(choice);
        if (!policy.Stripe) return ([carrier], null);
        // Only the engine moves connections between networks: with no failover paths (direct, libvirt, one network) there is no stripe either.
        return failover.Paths.Count == 0
            ? ([carrier], $"stripe (from {policy.Sources[PolicyKeys.Stripe]}): no other network may carry this migration (see the failover reason): " +
                          $"every connection goes over '{carrier.Network}'.")
            : ([carrier, .. failover.Paths], null);
    }

    /// <summary>Shares <paramref name="connections"/> out over <paramref name="candidates"/>; empty when there is one
    /// network or one connection (nothing is striped), with the reason when striping was asked for.</summary>
    public static (TextList<StripeShare> Shares, string? Reason) Share(IReadOnlyList<NetworkPath> candidates, int connections, EffectivePolicy policy)
    {
        if (candidates.Count < 2) return (TextList<StripeShare>.Empty, null);
        var from = $"stripe (from {policy.Sources[PolicyKeys.Stripe]})";
        if (connections < 2)
            return (TextList<StripeShare>.Empty, $"{from}: one connection cannot be spread over several networks: it goes over '{candidates[0].Network}'.");
        var used = candidates.Take(connections).ToList();
        var total = used.Sum(p => p.BandwidthGbps);
        var counts = used.Select(_ => 1).ToArray();
        for (var left = connections - used.Count; left > 0; left--)
        {
            // The next connection goes where the share falls furthest behind the network's part of the bandwidth.
            var behind = Enumerable.Range(0, used.Count).MaxBy(i => used[i].BandwidthGbps / total * connections - counts[i]);
            counts[behind]++;
        }
        var shares = used.Select((path, i) => new StripeShare(path, counts[i])).ToTextList();
        var skipped = candidates.Count > used.Count
            ? $" ({string.Join(", ", candidates.Skip(used.Count).Select(p => $"'{p.Network}'"))} only take over: {connections} connections, one per network at least)"
            : "";
        return (shares, $"{from}: the connections are spread over {string.Join(", ", shares.Select(s => $"'{s.Path.Network}' ({s.Connections})"))}, " +
                        $"in proportion to their bandwidth, {InterfaceBandwidth.Gbps(total)} in all{skipped}.");
    }
}
