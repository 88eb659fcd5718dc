using System.Net;
using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Planning;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Security;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.NetworkTest;

/// <summary>What to measure (the paths and TLS of a <see cref="NetworkTestPlan"/>), and how.</summary>
public sealed record NetworkTestRequest
{
    public required NetworkTestPlan Plan { get; init; }
    public IReadOnlyList<int> Connections { get; init; } = [1];
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);
    public required HostCredentials Credentials { get; init; }
    public IActivityLog Log { get; init; } = SilentLog.Instance;
    /// <summary>A connection that breaks goes on over the plan's other networks (<see cref="NetworkTestPlan.Failover"/>)
    /// within its tolerance, as in a migration, and the result tells where it went; without it, a break ends that
    /// measurement with an error (a figure for one network, or none).</summary>
    public bool Resilient { get; init; }
}

/// <summary>
/// Measures the networks between two hosts with the engine, like <c>iperf3 -P N</c> but through the
/// destination agent: reachability and handshake round trip, throughput per connection count, and the
/// interface that really carried the bytes. A network that fails is reported and the others go on. A resilient test
/// exercises the engine's failover instead: cut a link while it runs, and it carries on over the next network.
/// </summary>
public static class NetworkTester
{
    /// <summary>The counts <c>-Sweep</c> tries.</summary>
    public static IReadOnlyList<int> SweepCounts { get; } = [1, 2, 4, 8, 16];

    /// <summary>Within this fraction of the best, fewer connections are the better choice.</summary>
    private const double GoodEnough = 0.95;

    public static async Task<IReadOnlyList<NetworkTestResult>> RunAsync(
        NetworkTestRequest request, IProgress<string>? progress, CancellationToken cancel)
    {
        var tls = request.Plan.Tls;
        var results = new List<NetworkTestResult>();
        foreach (var network in request.Plan.Paths)
        {
            var measured = new List<NetworkTestResult>();
            foreach (var count in request.Connections)
            {
                cancel.ThrowIfCancellationRequested();
                progress?.Report($"{network.Network.Name}: {count} connection(s) for {request.Duration.TotalSeconds:0} s");
                var result = await MeasureAsync(request, network, count, tls, cancel);
                measured.Add(result);
                if (!result.Reachable) break; // the other counts would fail the same way
            }
            results.AddRange(MarkRecommended(measured));
        }
        return results;
    }

    private static async Task<NetworkTestResult> MeasureAsync(NetworkTestRequest request, SharedNetwork network, int connections, bool tls, CancellationToken cancel)
    {
        var result = new NetworkTestResult
        {
            Network = network.Network.Name,
            Role = network.Network.Role,
            InventoryGbps = network.BandwidthGbps,
            SourceHost = network.Source.Host.Name,
            DestinationHost = network.Destination.Host.Name,
            SourceAddress = network.Source.Address,
            DestinationAddress = network.Destination.Address,
            SourceInterface = network.Source.Interface.Name,
            Connections = connections,
            Warnings = network.MtuWarning is { } mtu ? [mtu] : [],
        };
        var options = new SessionOptions
        {
            Agent = new IPEndPoint(network.Destination.Address, network.Destination.Host.AgentPort),
            AgentHost = network.Destination.Host.Name,
            Credentials = request.Credentials,
            SourceAddress = network.Source.Address,
            Channels = connections,
            Tls = tls,
            Network = network.Network.Name,
            Log = request.Log,
        };
        var failovers = new System.Collections.Concurrent.ConcurrentQueue<Failover>();
        if (request.Resilient)
        {
            var failover = request.Plan.FailoverFrom(network).ToList();
            options = options with
            {
                Failover = failover.Select(f => AgentRoute.Of(f, network.Destination.Host.AgentPort)).ToList(),
                LinkLossTolerance = request.Plan.LinkLossTolerance,
                FailedOver = f => failovers.Enqueue(Failover.Of(f, network.Network.Name)),
            };
            request.Log.Verbose($"Resilient: a broken connection goes on over {(failover.Count > 0 ? string.Join(", then ", failover.Select(f => $"'{f.Network}'")) : $"'{network.Network.Name}' only (no other shared network is open to migrations)")}, " +
                                $"within {request.Plan.LinkLossTolerance.TotalSeconds:0} s");
        }
        request.Log.Verbose($"Measuring '{network.Network.Name}' ({result.SourceHost} {result.SourceAddress} -> {result.DestinationHost} {result.DestinationAddress}) " +
                            $"with {connections} connection(s) for {request.Duration.TotalSeconds:0.#} s, {(tls ? "TLS" : "plain")}");
        EngineSession session;
        try
        {
            session = await EngineSession.OpenAsync(options, TransferMode.Synthetic, null, cancel);
        }
        catch (MigrationException e) // ChannelException and ProtocolException included
        {
            return result with { Reachable = false, Error = e.Message };
        }
        await using (session)
        {
            var before = NicCounters.Snapshot();
            try
            {
                var transfer = await session.SendSyntheticAsync(request.Duration, cancel);
                var carrier = NicCounters.Carrier(before, NicCounters.Snapshot());
                request.Log.Verbose($"'{network.Network.Name}', {connections} connection(s): {transfer.Gbps:0.##} Gbit/s, round trip {session.HandshakeRtt.TotalMilliseconds:0.##} ms, " +
                                    $"carried by {carrier?.Interface ?? "(no interface counted)"}{(carrier is { } c ? $" ({c.Share:P0} of what this host sent)" : "")}");
                return WithFailovers(result with
                {
                    Reachable = true,
                    RttMs = session.HandshakeRtt.TotalMilliseconds,
                    ThroughputGbps = transfer.Gbps,
                    CarrierInterface = carrier?.Interface,
                    CarrierShare = carrier?.Share,
                }, failovers);
            }
            catch (ChannelException e)
            {
                return WithFailovers(result with { Reachable = true, RttMs = session.HandshakeRtt.TotalMilliseconds, Error = e.Message }, failovers);
            }
        }
    }

    /// <summary>The failovers, and for each a warning: the throughput is then not the measured network's alone.</summary>
    private static NetworkTestResult WithFailovers(NetworkTestResult result, IEnumerable<Failover> failovers)
    {
        var all = failovers.ToList();
        if (all.Count == 0) return result;
        return result with
        {
            Failovers = all.ToTextList(),
            Warnings = result.Warnings.Concat(all.Select(f =>
                $"'{result.Network}', {result.Connections} connection(s): {f.Story()}; the throughput is not '{result.Network}''s alone.")).ToTextList(),
        };
    }

    /// <summary>Marks the smallest count within 5% of the best throughput, when more than one count ran.</summary>
    private static IEnumerable<NetworkTestResult> MarkRecommended(List<NetworkTestResult> measured)
    {
        var best = measured.Max(r => r.ThroughputGbps ?? 0);
        if (measured.Count < 2 || best <= 0) return measured;
        var pick = measured.Where(r => (r.ThroughputGbps ?? 0) >= best * GoodEnough).MinBy(r => r.Connections)!;
        return measured.Select(r => r == pick ? r with { Recommended = true } : r);
    }
}
