namespace PSMigration.Engine.Transfer;

/// <summary>What one channel moved, updated as it goes (readers see a consistent snapshot per field), and over which
/// networks: the one it started on, then each it went on over after a break.</summary>
public sealed class ChannelStats(int index, string? network)
{
    private long sent;
    private long received;
    private readonly object legsLock = new();
    /// <summary>Each network the channel used, from the bytes it had carried (both ways) when it went over it.</summary>
    private readonly List<(string? Network, long From)> legs = [(network, 0)];

    public int Index { get; } = index;
    public long BytesSent => Interlocked.Read(ref sent);
    public long BytesReceived => Interlocked.Read(ref received);
    /// <summary>Both ways.</summary>
    public long Carried => BytesSent + BytesReceived;

    /// <summary>The network the channel started on.</summary>
    public string? FirstNetwork => network;

    /// <summary>The network the channel is on now.</summary>
    public string? Network
    {
        get { lock (legsLock) return legs[^1].Network; }
    }

    /// <summary>The bytes (both ways) each network carried for this channel, in the order it used them. A break's bytes
    /// count for the network they were first given to, even those sent again after a resume.</summary>
    public IReadOnlyList<(string? Network, long Bytes)> ByNetwork
    {
        get
        {
            lock (legsLock)
            {
                var carried = Carried;
                return legs.Select((leg, i) => (leg.Network, (i + 1 < legs.Count ? legs[i + 1].From : carried) - leg.From))
                    .GroupBy(leg => leg.Network).Select(g => (g.Key, g.Sum(leg => leg.Item2))).ToList();
            }
        }
    }

    internal void AddSent(long bytes) => Interlocked.Add(ref sent, bytes);
    internal void AddReceived(long bytes) => Interlocked.Add(ref received, bytes);

    /// <summary>The channel went on over <paramref name="next"/> after <paramref name="atBytes"/> (both ways).</summary>
    internal void MovedTo(string? next, long atBytes)
    {
        lock (legsLock)
            if (next != legs[^1].Network) legs.Add((next, atBytes));
    }
}

/// <summary>What one network carried for a session: how many of its channels started on it, and the bytes (both ways)
/// it carried for any of them. Property names are the JSON contract (camelCased).</summary>
public sealed record NetworkCarried(string? Network, int Connections, long Bytes)
{
    /// <summary>Sums the channels' stats per network, in the order the networks were first used.</summary>
    public static IReadOnlyList<NetworkCarried> Of(IEnumerable<ChannelStats> channels)
    {
        var stats = channels.ToList();
        var byNetwork = stats.SelectMany(s => s.ByNetwork).GroupBy(b => b.Network).ToList();
        return byNetwork.Select(g => new NetworkCarried(g.Key, stats.Count(s => s.FirstNetwork == g.Key), g.Sum(b => b.Bytes))).ToList();
    }

    public override string ToString() => $"{Network ?? "(unnamed)"}: {Connections} connection(s), {Bytes / 1048576.0:0} MiB";
}
