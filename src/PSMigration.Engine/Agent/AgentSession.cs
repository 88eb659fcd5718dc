using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>The agent's end of one session: its control channel, its data channels as they join,
/// and what they carry (synthetic data to drop, or streams to relay to a local target in order).</summary>
internal sealed class AgentSession
{
    private readonly AgentOptions options;
    private readonly AgentLog log;
    private readonly Func<string, string?> relayTargets;
    private readonly EngineChannel?[] channels;
    private readonly Task[] work;
    /// <summary>Relay order: channel i connects its target only after channel i-1 has.</summary>
    private readonly TaskCompletionSource[] targetConnected;
    private readonly CancellationTokenSource abort = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private string? error;

    public AgentSession(Guid id, OpenRequest request, string peerHost, IPAddress source, AgentOptions options, AgentLog log,
        Func<string, string?> relayTargets)
    {
        this.log = log;
        this.relayTargets = relayTargets;
        Id = id;
        Request = request;
        PeerHost = peerHost;
        Source = source;
        this.options = options;
        Token = Hello.NewToken();
        channels = new EngineChannel?[request.Channels];
        work = new Task[request.Channels];
        targetConnected = Enumerable.Range(0, request.Channels)
            .Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
    }

    public Guid Id { get; }
    public OpenRequest Request { get; }
    public string PeerHost { get; }
    public IPAddress Source { get; }
    public byte[] Token { get; }

    /// <summary>Checks that a data channel belongs here; null when it may join.</summary>
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
        if (!source.Equals(Source))
            return new HelloReply(HelloStatus.Denied, $"the session was opened from {Source}, not {source}");
        lock (channels)
            if (channels[hello.ChannelIndex] is not null)
                return new HelloReply(HelloStatus.BadRequest, $"channel {hello.ChannelIndex} is already connected");
        return null;
    }

    /// <summary>Takes a joined channel and runs it until its streams end.</summary>
    public bool TryJoin(EngineChannel channel)
    {
        lock (channels)
        {
            if (channels[channel.Index] is not null) return false;
            channels[channel.Index] = channel;
            work[channel.Index] = RunChannelAsync(channel);
            return true;
        }
    }

    private async Task RunChannelAsync(EngineChannel channel)
    {
        try
        {
            if (Request.Mode == TransferMode.Synthetic)
            {
                await FramedPump.ReceiveAsync(channel, null, abort.Token);
                await FramedPump.SendEndAsync(channel, 0, abort.Token);
                return;
            }
            await FramedPump.ExpectConnectAsync(channel, abort.Token);
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
            return socket;
        }
        catch (Exception e)
        {
            socket.Dispose();
            throw new IOException($"cannot connect channel {index} to {path}: {e.Message}", e);
        }
    }

    /// <summary>Serves the control channel until the source finishes or goes away.</summary>
    public async Task RunControlAsync(EngineChannel control, CancellationToken stop)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, abort.Token);
        using var late = new Timer(_ => MissingChannels(), null, options.HandshakeTimeout, Timeout.InfiniteTimeSpan);
        var logged = false;
        try
        {
            while (true)
            {
                switch (await AgentControl.NextAsync(control, options.Stall, linked.Token))
                {
                    case Finish:
                        await AnswerFinishAsync(control, linked.Token);
                        log.Session(Summary()); // the outcome is known: say it now, not when the source hangs up
                        logged = true;
                        await DrainAsync(control, linked.Token);
                        return;
                    case var other:
                        throw new ProtocolException($"unexpected {other.GetType().Name} on the control channel");
                }
            }
        }
        catch (Exception e)
        {
            Fail(e switch
            {
                _ when stop.IsCancellationRequested => "the agent is stopping",
                TimeoutException => "the source stopped answering on the control channel",
                EndOfStreamException or IOException or OperationCanceledException => "the source closed the session (cancelled or gone)",
                _ => control.Failure(e).Message,
            });
        }
        finally
        {
            Abort();
            if (!logged) log.Session(Summary());
        }
    }

    private async Task AnswerFinishAsync(EngineChannel control, CancellationToken cancel)
    {
        try
        {
            await Task.WhenAll(work.Select(t => t ?? Task.FromException(new ProtocolException("a channel never arrived")))).WaitAsync(cancel);
        }
        catch (Exception)
        {
            // the reason is in error
        }
        var received = channels.Select(c => c?.Stats.BytesReceived ?? 0).ToArray();
        await new Finished(received, error is null, error).WriteAsync(control.Stream, cancel);
    }

    /// <summary>Lets the source close first: a reset now would discard the answer before it is read.</summary>
    private async Task DrainAsync(EngineChannel control, CancellationToken cancel)
    {
        var rest = new byte[256];
        try
        {
            while (await control.Stream.ReadAsync(rest, cancel).AsTask().WaitAsync(options.Stall, cancel) > 0)
            {
            }
        }
        catch (Exception e) when (e is IOException or TimeoutException or OperationCanceledException)
        {
            // gone either way
        }
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
            foreach (var channel in channels) channel?.Abort();
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
