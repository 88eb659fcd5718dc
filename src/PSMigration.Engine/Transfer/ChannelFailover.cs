using System.Net;

namespace PSMigration.Engine.Transfer;

/// <summary>A connection of a session broke and another took over, the stream going on where the receiver stopped:
/// which channel ("channel 2", "the control channel"), the networks before and after (the same one when the link came
/// back), how many bytes the channel had carried, how long it carried nothing, and why the old connection was given up.</summary>
public sealed record ChannelFailover(string Channel, string? FromNetwork, string? ToNetwork, long AtBytes, TimeSpan Lost, string Reason);

/// <summary>One way to the agent: a network, this host's address on it (the connection is bound to it), and the agent's.</summary>
public sealed record AgentRoute(string? Network, IPAddress? SourceAddress, IPEndPoint Agent)
{
    /// <summary>The way over <paramref name="path"/> to the agent listening on <paramref name="agentPort"/> at its far end.</summary>
    public static AgentRoute Of(PSMigration.Core.Planning.NetworkPath path, int agentPort) =>
        new(path.Network, path.SourceAddress, new IPEndPoint(path.DestinationAddress, agentPort));

    public override string ToString() => $"'{Network}' ({SourceAddress?.ToString() ?? "any address"} -> {Agent})";
}

/// <summary>An engine connection that broke and was taken over by a new one, the stream going on where the receiver
/// stopped: which <see cref="Channel"/> ("channel 2", "the control channel"), the network it was on and the one it went
/// on over (the same one when the link came back), the bytes it had carried, and how long it carried nothing.</summary>
public sealed record Failover(string Channel, string FromNetwork, string ToNetwork, long AtBytes, long LostMs)
{
    /// <summary>The record of <paramref name="failover"/>; a network the session did not name is <paramref name="carrier"/>.</summary>
    public static Failover Of(ChannelFailover failover, string carrier) =>
        new(failover.Channel, failover.FromNetwork ?? carrier, failover.ToNetwork ?? carrier, failover.AtBytes, (long)failover.Lost.TotalMilliseconds);

    /// <summary>"channel 1 broke after 1.2 GiB (why) and moved from 'mig' to 'lan' 6.1 s later" (or "came back on 'mig'"):
    /// the words of a migration's warning and of a network test's.</summary>
    public string Story(string? reason = null) =>
        $"{Channel} broke after {ByteSize.Format(AtBytes)}{(reason is null ? "" : $" ({reason})")} and {WhereItWent()} {LostMs / 1000.0:0.0} s later";

    /// <summary>"moved from 'mig' to 'lan'", or "came back on 'mig'".</summary>
    public string WhereItWent() => FromNetwork == ToNetwork ? $"came back on '{ToNetwork}'" : $"moved from '{FromNetwork}' to '{ToNetwork}'";

    public override string ToString() =>
        $"{Channel}: {(FromNetwork == ToNetwork ? $"back on {ToNetwork}" : $"{FromNetwork} -> {ToNetwork}")} at {ByteSize.Format(AtBytes)}, {LostMs / 1000.0:0.0} s lost";
}
