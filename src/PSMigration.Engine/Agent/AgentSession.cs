using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>The agent's end of one session: its control channel, its data channels as they join (and as the source
/// brings them back after a break, from any address of its host), and what they carry (synthetic data to drop, or
/// streams to relay to a local target in order).</summary>
internal sealed class AgentSession
{
    private readonly AgentOptions options;
    private readonly AgentLog log;
    private readonly Func<string, string?> relayTargets;
    private readonly ChannelLink?[] channels;
    private readonly Task[] work;
    /// <summary>Relay order: channel i connects its target only after channel i-1 has.</summary>
    private readonly TaskCompletionSource[] targetConnected;
    private readonly CancellationTokenSource abort = new();
    /// <summary>The acknowledgements of the data channels' streams, on the control channel.</summary>
    private readonly AckSender acks;
    private readonly ControlRejoins rejoins;
    private ResumableControl? control;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private string? error;

    public AgentSession(Guid id, OpenRequest request, string peerHost, IPAddress source, AgentOptions options, AgentLog log,
        Func<string, string?> relayTargets, ControlRejoins rejoins)
    {
        this.rejoins = rejoins;
        this.log = log;
        this.relayTargets = relayTargets;
        Id = id;
        Request = request;
        PeerHost = peerHost;
        Source = source;
        this.options = options;
        Token = Hello.NewToken();
        channels = new ChannelLink?[request.Channels];
        work = new Task[request.Channels];
        targetConnected = Enumerable.Range(0, request.Channels)
            .Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        acks = new AckSender(() => channels, WriteControlAsync, abort.Token);
    }

    /// <summary>The control channel has two writers: the answers, and the acknowledgements of the data channels.</summary>
    private Task<bool> WriteControlAsync(ControlMessage message, CancellationToken cancel) =>
        control?.TryWriteAsync(message, cancel) ?? Task.FromResult(false); // before the control channel is served: acknowledged with the next

    public Guid Id { get; }
    public OpenRequest Request { get; }
    public string PeerHost { get; }
    public IPAddress Source { get; }
    public byte[] Token { get; }
    private TimeSpan ResumeWithin => TimeSpan.FromSeconds(Request.ResumeSeconds);

    /// <summary>Checks that a data channel belongs here, joining or (<see cref="Hello.Resume"/>) coming back; null when
    /// it may. A channel joins from the address the session was opened from or (striped, over another network) another
    /// address of the source's host; it may come back from any address of that host, and only to a session that waits for it.</summary>
    public HelloReply? Admit(Hello hello, bool tls, string? peerHost, IPAddress source)
    {
        if (hello.ChannelCount != Request.Channels || hello.ChannelIndex >= Request.Channels)
            return new HelloReply(HelloStatus.BadRequest, $"channel {hello.ChannelIndex} of {hello.ChannelCount} does not fit a session of {Request.Channels}");
        if (Request.Tls && !tls)
            return new HelloReply(HelloStatus.Denied, "this session's data channels must use TLS");
        if (tls && peerHost != PeerHost)
            return new HelloReply(HelloStatus.Denied, $"the session belongs to {PeerHost}, not {peerHost}");
        if (!tls && !CryptographicOperations.FixedTimeEquals(hello.Token, Token))
            return new HelloReply(HelloStatus.BadToken, "wrong session token");
        ChannelLink? joined;
        lock (channels) joined = channels[hello.ChannelIndex];
        if (!hello.Resume)
        {
            if (!source.Equals(Source) && options.Authority.AddressRefusal(PeerHost, source) is { } stranger) // a striped channel joins over its own network
                return new HelloReply(HelloStatus.Denied, $"the session was opened from {Source}, and {source} is not an address of {PeerHost}: {stranger}");
            return joined is null ? null : new HelloReply(HelloStatus.BadRequest, $"channel {hello.ChannelIndex} is already connected");
        }
        if (Request.ResumeSeconds == 0) return new HelloReply(HelloStatus.Denied, "this session does not resume broken channels");
        if (joined is null) return new HelloReply(HelloStatus.BadRequest, $"channel {hello.ChannelIndex} never joined: nothing to resume");
        if (options.Authority.AddressRefusal(PeerHost, source) is { } foreign)
            return new HelloReply(HelloStatus.Denied, $"channel {hello.ChannelIndex} may come back only from an address of {PeerHost}: {foreign}");
        return null;
    }

    /// <summary>Takes a joined channel and runs it until its streams end; a channel that comes back takes over from its
    /// broken connection.</summary>
    public bool TryJoin(EngineChannel channel, bool resume)
    {
        lock (channels)
        {
            if (resume)
            {
                if (channels[channel.Index] is not { } link) return false;
                log.Session($"session {Id.ToString("N")[..8]}: {channel.Name} came back from {channel.Peer}");
                link.Offer(channel);
                return true;
            }
            if (channels[channel.Index] is not null) return false;
            if (channel.Peer is IPEndPoint { Address: var from } && !from.Equals(Source))
                log.Session($"session {Id.ToString("N")[..8]}: {channel.Name} joined from {from}, another address of {PeerHost} (striped)");
            var joined = channels[channel.Index] = ChannelLink.OnAgent(channel, Request.Network, ResumeWithin);
            joined.AcknowledgeThrough(acks);
            work[channel.Index] = RunChannelAsync(joined);
            return true;
        }
    }

    private async Task RunChannelAsync(ChannelLink channel)
    {
        try
        {
            if (Request.Mode == TransferMode.Synthetic)
            {
                await FramedPump.DropAsync(channel, abort.Token);
                return;
            }
            await channel.ExpectConnectAsync(abort.Token);
            if (channel.Index > 0) await targetConnected[channel.Index - 1].Task.WaitAsync(abort.Token);
            using var target = await ConnectTargetAsync(channel.Index);
            targetConnected[channel.Index].TrySetResult();
            await Task.WhenAll(
                FramedPump.ReceiveAsync(channel, target, abort.Token),
                FramedPump.SendAsync(target, channel, null, abort.Token));
        }
        catch (Exception e)
        {
            Fail(channel.Failure(e).Message); // the first failure of the session is the one reported
            throw;
        }
    }

    private async Task<Socket> ConnectTargetAsync(int index)
    {
        var name = Request.TargetOf(index);
        var path = relayTargets(name ?? "") ?? throw new ProtocolException($"no relay target '{name}' here");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), abort.Token);
            SocketTuning.RaiseSendBuffer(socket); // the agent writes the stream into the twin's QEMU
            return socket;
        }
        catch (Exception e)
        {
            socket.Dispose();
            throw new IOException($"cannot connect channel {index} to {path}: {e.Message}", e);
        }
    }

    /// <summary>Serves the control channel until the source finishes or goes away.</summary>
    public async Task RunControlAsync(EngineChannel connection, CancellationToken stop)
    {
        using var control = this.control = new ResumableControl(connection, Id, PeerHost, ResumeWithin, options.Stall, rejoins, acks.ControlBack);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, abort.Token);
        using var late = new Timer(_ => MissingChannels(), null, options.HandshakeTimeout, Timeout.InfiniteTimeSpan);
        Task? answering = null;
        try
        {
            while (true)
            {
                switch (await control.NextAsync(linked.Token))
                {
                    case Goodbye:
                        throw new OperationCanceledException("the source ended the session");
                    case ChannelAcks channelAcks:
                        AckSender.Apply(channelAcks, channels);
                        break;
                    case Finish:
                        // Answered while this loop reads on: the channels end only once the source acknowledges their End.
                        answering ??= AnswerFinishAsync(linked.Token);
                        break;
                    case var other:
                        throw new ProtocolException($"unexpected {other.GetType().Name} on the control channel");
                }
            }
        }
        catch (Exception) when (answering is { IsCompletedSuccessfully: true })
        {
            // the source hung up after the answer: the session is over
        }
        catch (Exception e)
        {
            Fail(e switch
            {
                _ when stop.IsCancellationRequested => "the agent is stopping",
                TimeoutException => "the source stopped answering on the control channel",
                EndOfStreamException or IOException or OperationCanceledException => "the source closed the session (cancelled or gone)",
                _ => control.Connection.Failure(e).Message,
            });
        }
        finally
        {
            Abort();
            if (answering is not { IsCompletedSuccessfully: true }) log.Session(Summary());
        }
    }

    /// <summary>Once every channel has ended, tells the source what arrived, and says the outcome in the log now, not when
    /// the source hangs up.</summary>
    private async Task AnswerFinishAsync(CancellationToken cancel)
    {
        try
        {
            await Task.WhenAll(work.Select(t => t ?? Task.FromException(new ProtocolException("a channel never arrived")))).WaitAsync(cancel);
        }
        catch (Exception) when (!cancel.IsCancellationRequested)
        {
            // the reason is in error
        }
        var received = channels.Select(c => c?.Stats.BytesReceived ?? 0).ToArray();
        await WriteControlAsync(new Finished(received, error is null, error), cancel);
        log.Session(Summary());
    }

    private void MissingChannels()
    {
        var missing = channels.Count(c => c is null);
        if (missing > 0) Fail($"only {Request.Channels - missing} of {Request.Channels} channels arrived within {options.HandshakeTimeout.TotalSeconds:0} s");
    }

    private void Fail(string why)
    {
        Interlocked.CompareExchange(ref error, why, null);
        Abort();
    }

    public void Abort()
    {
        if (abort.IsCancellationRequested) return;
        abort.Cancel();
        lock (channels)
            foreach (var channel in channels) channel?.Dispose();
    }

    public string Summary()
    {
        var bytes = channels.Sum(c => c?.Stats.BytesReceived + c?.Stats.BytesSent ?? 0);
        var seconds = clock.Elapsed.TotalSeconds;
        var rate = seconds > 0 ? bytes * 8 / seconds / 1e9 : 0;
        return $"session {Id.ToString("N")[..8]} from {PeerHost} ({Source}) on {Request.Network ?? "?"}: {Request.Mode.ToString().ToLowerInvariant()}, " +
               $"{Request.Channels} channel(s), {ByteSize.Format(bytes)} in {seconds:0.0} s ({rate:0.00} Gbit/s): {(error is null ? "ok" : "failed: " + error)}";
    }
}
