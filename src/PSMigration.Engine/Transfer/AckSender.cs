using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// A session's acknowledgements, on either end: when a data channel asks, one <see cref="ChannelAcks"/> on the control
/// channel says how far every channel's stream has arrived. One writer at a time, never holding up a reader; a message
/// lost with a broken control connection is made good by the next (positions only grow), and <see cref="All"/> after
/// the control channel comes back.
/// </summary>
internal sealed class AckSender(Func<IReadOnlyList<ChannelLink?>> links, Func<ControlMessage, CancellationToken, Task> send, CancellationToken stop)
{
    private int writing;

    /// <summary>A channel has something to acknowledge.</summary>
    public void Wanted() => _ = WriteAsync(everything: false);

    /// <summary>Every channel's position, acknowledged before or not (after the control channel came back).</summary>
    public Task All() => WriteAsync(everything: true);

    private async Task WriteAsync(bool everything)
    {
        if (Interlocked.Exchange(ref writing, 1) == 1) return;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var due = links().OfType<ChannelLink>()
                    .Select(link => (link, position: everything ? link.Received : link.Unacknowledged))
                    .Where(d => d.position is not null).ToList();
                if (due.Count == 0) break;
                await send(new ChannelAcks(due.Select(d => d.link.Index).ToArray(), due.Select(d => d.position!.Value).ToArray()), stop);
                foreach (var (link, position) in due) link.Acknowledged(position!.Value);
                everything = false;
            }
        }
        catch (Exception)
        {
            // the control channel broke: its recovery sends every position again
        }
        finally
        {
            Volatile.Write(ref writing, 0);
        }
        if (!stop.IsCancellationRequested && links().Any(l => l?.Unacknowledged is not null) && Volatile.Read(ref writing) == 0)
            _ = WriteAsync(everything: false); // an arrival between the last look and the release
    }

    /// <summary>The peer's acknowledgements, to the channels they name.</summary>
    public static void Apply(ChannelAcks acks, IReadOnlyList<ChannelLink?> links)
    {
        for (var i = 0; i < acks.Channels.Length; i++)
        {
            if (acks.Channels[i] < 0 || acks.Channels[i] >= links.Count) throw new ProtocolException($"an acknowledgement for channel {acks.Channels[i]} of {links.Count}");
            links[acks.Channels[i]]?.PeerHas(acks.Positions[i]);
        }
    }
}
