using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// A session's acknowledgements, on either end: when a data channel asks, one <see cref="ChannelAcks"/> on the control
/// channel says how far every channel's stream has arrived. One writer at a time, never holding up a reader; a message
/// lost with a broken control connection is made good by the next (positions only grow): while the control channel is
/// down, every position is written again every <see cref="RetryEvery"/>, and <see cref="All"/> once it is back.
/// </summary>
internal sealed class AckSender(Func<IReadOnlyList<ChannelLink?>> links, Func<ControlMessage, CancellationToken, Task<bool>> send, CancellationToken stop)
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromMilliseconds(200);
    private int writing;
    /// <summary>Every position is due, acknowledged before or not: the control channel came back, or a write was lost.</summary>
    private int everything;

    /// <summary>A channel has something to acknowledge.</summary>
    public void Wanted() => Start();

    /// <summary>Every channel's position, acknowledged before or not (after the control channel came back).</summary>
    public void All()
    {
        Volatile.Write(ref everything, 1);
        Start();
    }

    private void Start()
    {
        if (stop.IsCancellationRequested || Interlocked.Exchange(ref writing, 1) == 1) return;
        _ = WriteAsync();
    }

    private async Task WriteAsync()
    {
        var lost = false;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var all = Interlocked.Exchange(ref everything, 0) == 1;
                var due = links().OfType<ChannelLink>()
                    .Select(link => (link, position: all ? link.Received : link.Unacknowledged))
                    .Where(d => d.position is not null).ToList();
                if (due.Count == 0) break;
                if (!await send(new ChannelAcks(due.Select(d => d.link.Index).ToArray(), due.Select(d => d.position!.Value).ToArray()), stop))
                {
                    // The control channel is down: everything again, on whatever connection it has in a moment (a
                    // write that fails just after it came back must not end the acknowledgements).
                    Volatile.Write(ref everything, 1);
                    await Task.Delay(RetryEvery, stop);
                    continue;
                }
                foreach (var (link, position) in due) link.Acknowledged(position!.Value);
            }
        }
        catch (Exception)
        {
            lost = true; // closing, or the control channel failed for good
        }
        finally
        {
            Volatile.Write(ref writing, 0);
        }
        // An arrival, or a call for everything, between the last look and the release.
        if (!lost && (Volatile.Read(ref everything) == 1 || links().Any(l => l?.Unacknowledged is not null))) Start();
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
