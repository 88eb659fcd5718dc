using System.Net;

namespace PSMigration.Engine.Transfer;

/// <summary>A connection of a session broke and another took over, the stream going on where the receiver stopped:
/// which channel ("channel 2", "the control channel"), the networks before and after (the same one when the link came
/// back), how many bytes the channel had carried, how long it carried nothing, and why the old connection was given up.</summary>
public sealed record ChannelFailover(string Channel, string? FromNetwork, string? ToNetwork, long AtBytes, TimeSpan Lost, string Reason);

/// <summary>One way to the agent: a network, this host's address on it (the connection is bound to it), and the agent's.</summary>
public sealed record AgentRoute(string? Network, IPAddress? SourceAddress, IPEndPoint Agent)
{
    public override string ToString() => $"'{Network}' ({SourceAddress?.ToString() ?? "any address"} -> {Agent})";
}
