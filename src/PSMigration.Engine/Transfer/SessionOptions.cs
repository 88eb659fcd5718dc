using System.Net;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Transfer;

/// <summary>Where and how a source opens a session with a destination agent.</summary>
public sealed record SessionOptions
{
    /// <summary>The agent: the destination's address on the chosen network, and its port.</summary>
    public required IPEndPoint Agent { get; init; }
    /// <summary>The destination host's inventory name; its certificate must carry it.</summary>
    public required string AgentHost { get; init; }
    /// <summary>This host's certificate and the cluster CA.</summary>
    public required HostCredentials Credentials { get; init; }
    /// <summary>The address every connection is bound to: the source end of the chosen network.</summary>
    public IPAddress? SourceAddress { get; init; }
    public int Channels { get; init; } = 1;
    /// <summary>TLS on the data channels too (the control channel always has it).</summary>
    public bool Tls { get; init; } = true;
    public double? BandwidthGbps { get; init; }
    public string? Network { get; init; }
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long a peer may make no progress (not reading, not answering) before it counts as dead.</summary>
    public TimeSpan Stall { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The ways that take over, in order, when a connection on <see cref="Network"/> breaks (the plan's failover
    /// networks); a broken connection tries its own network first.</summary>
    public IReadOnlyList<AgentRoute> Failover { get; init; } = [];
    /// <summary>A striped session: the way each data channel goes first, by index, each bound to its own source address
    /// (a broken one tries its own way first, then <see cref="Routes"/> in order); empty: every channel goes the planned way.</summary>
    public IReadOnlyList<AgentRoute> Stripe { get; init; } = [];
    /// <summary>How long a broken connection may take to come back, counted from when it last carried anything
    /// (linkLossToleranceSeconds). Zero: a break fails the session at once.</summary>
    public TimeSpan LinkLossTolerance { get; init; }
    /// <summary>Told of each connection that took over from a broken one.</summary>
    public Action<ChannelFailover>? FailedOver { get; init; }
    /// <summary>Told how the session comes up (verbose) and what goes over its control channel (debug).</summary>
    public IActivityLog Log { get; init; } = SilentLog.Instance;

    /// <summary>"kvm02's agent at 198.51.100.12:49152", for messages.</summary>
    public string AgentName => $"{AgentHost}'s agent at {Agent}";

    /// <summary>The planned way, then the failover ways.</summary>
    public IReadOnlyList<AgentRoute> Routes => [new AgentRoute(Network, SourceAddress, Agent), .. Failover];

    /// <summary>The way data channel <paramref name="index"/> goes first.</summary>
    public AgentRoute RouteOf(int index) => Stripe.Count > 0 ? Stripe[index] : Routes[0];

    /// <summary>These options, going over <paramref name="route"/>.</summary>
    public SessionOptions Over(AgentRoute route) => this with { Network = route.Network, SourceAddress = route.SourceAddress, Agent = route.Agent };
}

/// <summary>The outcome of a transfer, as both ends saw it.</summary>
public sealed record TransferResult(IReadOnlyList<ChannelResult> Channels, TimeSpan Elapsed)
{
    public long BytesSent => Channels.Sum(c => c.BytesSent);
    public long BytesReceived => Channels.Sum(c => c.BytesReceived);
    /// <summary>What the agent confirmed receiving; equals <see cref="BytesSent"/> when all went well.</summary>
    public long BytesConfirmed => Channels.Sum(c => c.BytesConfirmed);
    public double Gbps => Elapsed.TotalSeconds > 0 ? BytesConfirmed * 8 / Elapsed.TotalSeconds / 1e9 : 0;
}

public sealed record ChannelResult(int Index, long BytesSent, long BytesReceived, long BytesConfirmed);
