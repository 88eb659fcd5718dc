using System.Diagnostics;
using System.Net.Sockets;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>The first <paramref name="Count"/> streams of a relay session go to <paramref name="RelayTarget"/>.</summary>
public sealed record LeadStreams(string RelayTarget, int Count);

/// <summary>
/// The source end of a transfer: one control channel and N data channels to one agent port, every
/// connection bound to the chosen source address. A data connection that breaks is brought back (<see cref="ChannelLink"/>,
/// <see cref="Redial"/>) within <see cref="SessionOptions.LinkLossTolerance"/>, on its network or the next one. Cancelling,
/// disposing, or a channel that cannot come back aborts every socket at once (with a reset), so nothing waits on a peer
/// that stopped reading.
/// </summary>
public sealed class EngineSession : IAsyncDisposable
{
    private readonly SessionOptions options;
    private readonly ControlChannel control;
    private readonly ChannelLink[] channels;
    private readonly CancellationTokenSource aborted = new();
    private Exception? failure;

    private EngineSession(SessionOptions options, ControlChannel control, ChannelLink[] channels, TimeSpan handshakeRtt)
    {
        this.options = options;
        this.control = control;
        this.channels = channels;
        HandshakeRtt = handshakeRtt;
        acks = new AckSender(() => channels, control.TrySendAsync, aborted.Token, () => control.Quiet);
        foreach (var channel in channels) channel.AcknowledgeThrough(acks);
    }

    private readonly AckSender acks;

    /// <summary>How a control channel to the agent comes back after a break, if the session may wait for it.</summary>
    /// <param name="name">The channel, for messages and failovers.</param>
    internal static ControlResume? ControlResume(SessionOptions options, Hello hello, string name = "the control channel") =>
        options.LinkLossTolerance <= TimeSpan.Zero ? null
            : new ControlResume(name, (network, deadline, cancel) => Redial.ResumeAsync(options, hello, tls: true, name, network, deadline, cancel),
                options.LinkLossTolerance, options.Network, failover => FailedOver(options, failover));

    private void Acknowledged(ChannelAcks acks)
    {
        try
        {
            AckSender.Apply(acks, channels);
        }
        catch (ProtocolException e)
        {
            Fail(new ChannelException($"{options.AgentName}: {e.Message}", e));
        }
    }

    /// <summary>The round trip to the agent over the control channel (best of three pings); measured for
    /// network tests (synthetic sessions) only, zero for relays, which should not wait for it.</summary>
    public TimeSpan HandshakeRtt { get; }
    public IReadOnlyList<ChannelStats> Stats => channels.Select(c => c.Stats).ToList();
    /// <summary>What each network carried, with how many channels started on it.</summary>
    public IReadOnlyList<NetworkCarried> Networks => NetworkCarried.Of(channels.Select(c => c.Stats));

    /// <param name="lead">Streams relayed first, to another target (a twin's NBD server: one per disk).</param>
    public static async Task<EngineSession> OpenAsync(SessionOptions options, TransferMode mode, string? relayTarget, CancellationToken cancel,
        LeadStreams? lead = null)
    {
        if (options.Channels is < 1 or > Hello.MaxChannels)
            throw new ArgumentOutOfRangeException(nameof(options), $"channels must be 1 to {Hello.MaxChannels}");
        if (options.Stripe.Count is not 0 && options.Stripe.Count != options.Channels)
            throw new ArgumentOutOfRangeException(nameof(options), $"a stripe names a way for each of the {options.Channels} channels, not {options.Stripe.Count}");
        var id = Guid.NewGuid();
        var controlConnection = await AgentConnector.ConnectAsync(options, Hello.Control(id), tls: true, "the control channel", cancel);
        ControlChannel? control = null;
        var channels = new List<EngineChannel>();
        try
        {
            await new OpenRequest(mode, options.Channels, options.Tls, options.Network, relayTarget, lead?.RelayTarget, lead?.Count ?? 0,
                    (int)Math.Ceiling(options.LinkLossTolerance.TotalSeconds))
                .WriteAsync(controlConnection.Stream, cancel, options.Log);
            var opened = await ControlMessage.ExpectAsync<Opened>(controlConnection.Stream, cancel, options.Log);
            var rtt = mode == TransferMode.Synthetic ? await RoundTripAsync(controlConnection, cancel) : TimeSpan.Zero;

            EngineSession? session = null;
            control = new ControlChannel(controlConnection, e => session?.Fail(e), options.Log, acks => session?.Acknowledged(acks),
                ControlResume(options, Hello.Control(id)), () => session?.acks.ControlBack(), network => session?.acks.ControlBroke(network));
            var connecting = Enumerable.Range(0, options.Channels)
                .Select(i => AgentConnector.ConnectAsync(options.Over(options.RouteOf(i)), new Hello(ChannelKind.Data, id, i, options.Channels, opened.Token), options.Tls, $"channel {i}", cancel))
                .ToList();
            try
            {
                await Task.WhenAll(connecting);
            }
            finally
            {
                channels.AddRange(connecting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
            }
            session = new EngineSession(options, control, channels.Select(c => Link(options, c, new Hello(ChannelKind.Data, id, c.Index, options.Channels, opened.Token))).ToArray(), rtt);
            control.Start();
            options.Log.Verbose($"{options.AgentName}: session {id} open ({mode}), {options.Channels} data connection(s) {Spread(options)}, " +
                                $"{(options.Tls ? "each with TLS" : "plain, with the session token")}");
            return session;
        }
        catch
        {
            foreach (var channel in channels) channel.Abort();
            if (control is not null) await control.DisposeAsync();
            else controlConnection.Abort();
            throw;
        }
    }

    /// <summary>"from 198.51.100.1 over 'mig'", or striped "over 'mig' (2, from 198.51.100.1), 'lan' (2, from 203.0.113.1)".</summary>
    private static string Spread(SessionOptions options)
    {
        string From(AgentRoute route) => route.SourceAddress?.ToString() ?? "any address";
        if (options.Stripe.Count == 0)
            return $"from {From(options.Routes[0])}{(options.Network is null ? "" : $" over '{options.Network}'")}";
        return "over " + string.Join(", ", options.Stripe.GroupBy(r => r).Select(g => $"'{g.Key.Network}' ({g.Count()}, from {From(g.Key)})"));
    }

    /// <summary>A data channel that comes back when its connection breaks, if the session may wait for it.</summary>
    private static ChannelLink Link(SessionOptions options, EngineChannel connection, Hello hello) =>
        new(connection, options.RouteOf(connection.Index).Network,
            options.LinkLossTolerance <= TimeSpan.Zero ? null
                : (network, deadline, cancel) => Redial.ResumeAsync(options, hello, options.Tls, connection.Name, network, deadline, cancel),
            options.LinkLossTolerance, failover => FailedOver(options, failover));

    internal static void FailedOver(SessionOptions options, ChannelFailover failover)
    {
        options.Log.Verbose($"{options.AgentHost}'s agent: {failover.Channel} went on over '{failover.ToNetwork}' after {failover.Lost.TotalSeconds:0.0} s " +
                            $"without data (it was on '{failover.FromNetwork}': {failover.Reason})");
        options.FailedOver?.Invoke(failover);
    }

    /// <summary>The network's round trip: the best of a few pings on the open control channel, so the
    /// first exchange's one-off costs (JIT, session setup on the agent) do not count.</summary>
    private static async Task<TimeSpan> RoundTripAsync(EngineChannel control, CancellationToken cancel)
    {
        var best = TimeSpan.MaxValue;
        for (var i = 1; i <= 3; i++)
        {
            var clock = Stopwatch.StartNew();
            await new Ping(-i).WriteAsync(control.Stream, cancel);
            await ControlMessage.ExpectAsync<Pong>(control.Stream, cancel);
            if (clock.Elapsed < best) best = clock.Elapsed;
        }
        return best;
    }

    /// <summary>Sends generated data on every channel for <paramref name="duration"/>, like <c>iperf3 -P N</c>.</summary>
    public Task<TransferResult> SendSyntheticAsync(TimeSpan duration, CancellationToken cancel)
    {
        var frame = FramedPump.SyntheticFrame();
        var limiter = BandwidthLimiter.ForGbps(options.BandwidthGbps);
        var clock = Stopwatch.StartNew();
        return RunAsync(clock, cancel, token => Task.FromResult(channels.Select(channel => Guard(channel, Both(
            FramedPump.SendSyntheticAsync(channel, frame, () => clock.Elapsed >= duration, limiter, token),
            FramedPump.ReceiveEndAsync(channel, token)))).ToList()));
    }

    /// <summary>Carries local full-duplex streams, one per channel in accept order: the i-th stream that
    /// <paramref name="acceptLocal"/> gives goes over channel i, and the agent connects its target for
    /// channel i only after channel i-1's (QEMU takes its first connection as the main channel).</summary>
    public async Task<TransferResult> RelayAsync(Func<int, CancellationToken, Task<Socket>> acceptLocal, CancellationToken cancel)
    {
        var limiter = BandwidthLimiter.ForGbps(options.BandwidthGbps);
        var accepted = new Socket?[channels.Length];
        try
        {
            return await RunAsync(Stopwatch.StartNew(), cancel, async token =>
            {
                // Accept in order, announce each stream as it comes, and start its pumps at once.
                var pumps = new List<Task>();
                foreach (var channel in channels)
                {
                    var local = accepted[channel.Index] = await acceptLocal(channel.Index, token);
                    await channel.SendConnectAsync(token);
                    pumps.Add(Guard(channel, Both(
                        FramedPump.SendAsync(local, channel, limiter, token),
                        FramedPump.ReceiveAsync(channel, local, token))));
                }
                return pumps;
            });
        }
        finally
        {
            foreach (var local in accepted) local?.Dispose();
        }
    }

    /// <summary>Starts the channels' pumps, waits for them and for the agent's count, and reports what
    /// went wrong first: cancellation, or the failure that aborted the session (not its echoes).</summary>
    private async Task<TransferResult> RunAsync(Stopwatch clock, CancellationToken cancel, Func<CancellationToken, Task<List<Task>>> start)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel, aborted.Token);
        using var onCancel = cancel.Register(Abort);
        try
        {
            await Task.WhenAll(await start(stop.Token));
            var finished = await control.FinishAsync(stop.Token);
            var elapsed = clock.Elapsed;
            if (!finished.Ok) throw new ChannelException($"the agent at {options.Agent} reports: {finished.Error}");
            return new TransferResult(
                channels.Select(c => new ChannelResult(c.Index, c.Stats.BytesSent, c.Stats.BytesReceived,
                    c.Index < finished.BytesReceived.Length ? finished.BytesReceived[c.Index] : 0)).ToList(),
                elapsed);
        }
        catch (Exception) when (cancel.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancel);
        }
        catch (Exception) when (failure is not null)
        {
            throw failure;
        }
    }

    /// <summary>The first failure of any channel fails the session and aborts the others.</summary>
    private async Task Guard(ChannelLink channel, Task work)
    {
        try
        {
            await work;
        }
        catch (Exception e) when (e is not OperationCanceledException || !aborted.IsCancellationRequested)
        {
            var why = failure ?? channel.Failure(e);
            Fail(why);
            throw why;
        }
    }

    private static async Task Both(Task a, Task b) => await Task.WhenAll(a, b);

    private void Fail(Exception reason)
    {
        Interlocked.CompareExchange(ref failure, reason, null);
        Abort();
    }

    /// <summary>Resets every connection now.</summary>
    public void Abort()
    {
        if (aborted.IsCancellationRequested) return;
        aborted.Cancel();
        control.Connection.Abort();
        foreach (var channel in channels) channel.Abort();
    }

    public async ValueTask DisposeAsync()
    {
        Abort();
        await control.DisposeAsync();
        foreach (var channel in channels) channel.Dispose();
        aborted.Dispose();
    }
}
