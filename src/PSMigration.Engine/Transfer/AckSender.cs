using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// A session's acknowledgements, on either end: when a data channel asks, one <see cref="ChannelAcks"/> on the control
/// channel says how far every channel's stream has arrived. One writer at a time, never holding up a reader; a message
/// lost with a broken control connection is made good by the next (positions only grow): while the control channel is
/// down, every position is written again every <see cref="RetryEvery"/>, and all of them once it is back (<see cref="ControlBack"/>).
/// </summary>
internal sealed class AckSender
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromMilliseconds(200);
    /// <summary>How long an acknowledgement asked for "soon" may wait: whatever else arrives meanwhile, on any channel,
    /// goes in the same message. Far below <see cref="ChannelLink.DeadAfter"/>.</summary>
    private static readonly TimeSpan SoonWithin = TimeSpan.FromMilliseconds(20);
    private readonly Func<IReadOnlyList<ChannelLink?>> links;
    private readonly Func<ControlMessage, CancellationToken, Task<bool>> send;
    private readonly CancellationToken stop;
    private readonly Func<bool>? controlQuiet;
    /// <summary>Sends what <see cref="Soon"/> asked for; one per session, not one per ask.</summary>
    private readonly Timer soon;
    private int soonPending;
    private int writing;
    /// <summary>The control channel, which carries the acknowledgements both ways, broke on this network and is not back yet.</summary>
    private volatile NetworkName? controlDownOn;
    /// <summary>Every position is due, acknowledged before or not: the control channel came back, or a write was lost.</summary>
    private int everything;

    /// <param name="controlQuiet">Whether the control channel has heard nothing from the peer for a while (the source's
    /// pings); null where this end does not ping (an agent).</param>
    public AckSender(Func<IReadOnlyList<ChannelLink?>> links, Func<ControlMessage, CancellationToken, Task<bool>> send, CancellationToken stop,
        Func<bool>? controlQuiet = null)
    {
        this.links = links;
        this.send = send;
        this.stop = stop;
        this.controlQuiet = controlQuiet;
        soon = new Timer(_ =>
        {
            Volatile.Write(ref soonPending, 0);
            Start();
        });
        stop.Register(soon.Dispose);
    }

    /// <summary>A channel has something to acknowledge now.</summary>
    public void Wanted() => Start();

    /// <summary>A channel has something to acknowledge within <see cref="SoonWithin"/>.</summary>
    public void Soon()
    {
        if (Interlocked.Exchange(ref soonPending, 1) == 1) return;
        try
        {
            soon.Change(SoonWithin, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // the session is over: nothing more to acknowledge
        }
    }

    /// <summary>Every channel's position, acknowledged before or not (after the control channel came back).</summary>
    private void All()
    {
        Volatile.Write(ref everything, 1);
        Start();
    }

    /// <summary>The control channel broke on <paramref name="network"/>: until it is back, a peer's silence on a channel
    /// over another network is no sign of a break (one over the same network is likely broken too, and stays watched).</summary>
    public void ControlBroke(string? network) => controlDownOn = new NetworkName(network);

    /// <summary>The control channel is back: every channel's wait for acknowledgements starts again, and every position is sent.</summary>
    public void ControlBack()
    {
        controlDownOn = null;
        foreach (var link in links().OfType<ChannelLink>()) link.AckPathBack();
        All();
    }

    /// <summary>Whether the peer's silence on a channel over <paramref name="network"/> means nothing now: the control
    /// channel broke on another network (see <see cref="ControlBroke"/>), or it is quiet itself and has not been judged
    /// yet (a cut link silences the acknowledgements of every channel at once; the control channel's own bound tells which
    /// network is gone, then <see cref="ControlBroke"/> does).</summary>
    public bool Excuses(string? network) => controlDownOn is { } down ? down.Name != network : controlQuiet?.Invoke() == true;

    private sealed record NetworkName(string? Name);

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
