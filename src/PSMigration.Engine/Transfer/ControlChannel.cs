using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>How a control channel comes back after its connection broke: the resume hello's dialler, the bound, and who
/// is told of each failover.</summary>
/// <param name="Name">The channel, in a failover's record ("the control channel", "the twin's control channel").</param>
internal sealed record ControlResume(string Name, Func<string?, DateTime, CancellationToken, Task<Rejoined>> Redial, TimeSpan Tolerance, string? Network,
    Action<ChannelFailover>? FailedOver);

/// <summary>
/// The source's end of the control channel: serialized writes, a reader that answers for the
/// session, and a keepalive. No pong for <see cref="SilenceLimit"/> means the agent (or the
/// path to it) is gone, and the session is failed with that reason, unless the channel is resumable
/// (<see cref="ControlResume"/>): then a break, or a second of pings unanswered for <see cref="ChannelLink.DeadAfter"/>, brings
/// another connection (the agent holds the channel meanwhile), the request in flight is asked again, and only a channel
/// that does not come back within the tolerance is dead.
/// </summary>
/// <param name="acks">Takes the agent's acknowledgements of the session's data channels (none outside a session).</param>
/// <param name="resumed">Told when a new connection has taken over (a session then acknowledges everything again).</param>
/// <param name="broke">Told when a break starts a recovery, with the network the connection was on.</param>
internal sealed class ControlChannel(EngineChannel connection, Action<Exception> onDead, PSMigration.Core.Diagnostics.IActivityLog log,
    Action<ChannelAcks>? acks = null, ControlResume? resume = null, Action? resumed = null, Action<string?>? broke = null) : IAsyncDisposable
{
    private static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(1);

    /// <summary>How long either end of a control channel waits for the other before calling it gone:
    /// twice the stall bound, so a stalled data channel is reported as itself (its watchdog fires at
    /// one stall bound) and not as a silent control channel, even when pongs come late on a busy host.</summary>
    public static TimeSpan SilenceLimit(TimeSpan stall) => stall * 2;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly object sync = new();
    /// <summary>The answer awaited by the one request in flight (the source asks one thing at a time), and the request.</summary>
    private TaskCompletionSource<ControlMessage>? reply;
    private ControlMessage? asked;
    private Exception? dead;
    private readonly CancellationTokenSource stop = new();
    private long lastPong = Environment.TickCount64;
    private Task? keepalive;
    private Task? reader;
    private Task? recovering;
    private string? network = resume?.Network;
    private EngineChannel current = connection;
    private int disposed;

    public EngineChannel Connection
    {
        get { lock (sync) return current; }
    }

    private TimeSpan Silence => resume is null ? SilenceLimit(Connection.Stall) : ChannelLink.DeadAfter;

    /// <summary>The agent has answered no ping for over two rounds: the acknowledgements this channel carries are likely
    /// held up with them, whatever the data channels' own connections do.</summary>
    public bool Quiet => Environment.TickCount64 - Interlocked.Read(ref lastPong) > 2 * PingEvery.TotalMilliseconds;

    /// <summary>Writes a message. On a resumable channel a write that fails starts the recovery and is not an error:
    /// what matters is asked again on the next connection.</summary>
    public Task SendAsync(ControlMessage message, CancellationToken cancel) => TrySendAsync(message, cancel);

    /// <summary><see cref="SendAsync"/>, saying whether the message was written (false: the connection broke).</summary>
    public async Task<bool> TrySendAsync(ControlMessage message, CancellationToken cancel)
    {
        var connection = Connection;
        await writeLock.WaitAsync(cancel);
        try
        {
            await message.WriteAsync(connection.Stream, cancel, log).WaitAsync(connection.Stall, cancel);
            return true;
        }
        catch (Exception e) when (resume is not null && !cancel.IsCancellationRequested && e is not ProtocolException)
        {
            Broken(connection, e);
            return false;
        }
        finally
        {
            writeLock.Release();
        }
    }

    public void Start()
    {
        reader = ReadLoopAsync(Connection);
        keepalive = KeepaliveLoopAsync();
    }

    /// <summary>Asks the agent what it received, once every data channel has sent its End.</summary>
    public Task<Finished> FinishAsync(CancellationToken cancel) => RequestAsync<Finished>(new Finish(), cancel);

    /// <summary>Sends a request and waits for its answer; a <see cref="Refused"/> answer is the agent's error.</summary>
    public async Task<T> RequestAsync<T>(ControlMessage request, CancellationToken cancel) where T : ControlMessage
    {
        var answer = new TaskCompletionSource<ControlMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (sync)
        {
            if (reply is not null) throw new InvalidOperationException("one control request at a time");
            reply = answer;
            asked = request;
        }
        try
        {
            if (Volatile.Read(ref dead) is { } reason) throw reason;
            await SendAsync(request, cancel);
            return ControlMessage.As<T>(await answer.Task.WaitAsync(cancel));
        }
        finally
        {
            lock (sync)
            {
                if (reply == answer)
                {
                    reply = null;
                    asked = null;
                }
            }
        }
    }

    private async Task ReadLoopAsync(EngineChannel connection)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var message = await ControlMessage.ReadAsync(connection.Stream, stop.Token, log);
                TaskCompletionSource<ControlMessage>? waiting;
                lock (sync) waiting = reply;
                switch (message)
                {
                    case Pong:
                        Interlocked.Exchange(ref lastPong, Environment.TickCount64);
                        break;
                    case ChannelAcks channelAcks when acks is not null:
                        acks(channelAcks);
                        break;
                    case Refused refused when waiting is null:
                        throw new ProtocolException($"the agent ended the session: {refused.Reason}");
                    case var answer when waiting is not null:
                        waiting.TrySetResult(answer);
                        break;
                    case var _ when resume is not null:
                        break; // an answer given twice, to a request asked again after a break
                    case var other:
                        throw new ProtocolException($"unexpected {other.GetType().Name} on the control channel");
                }
            }
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            if (e is ProtocolException || resume is null) Dead(connection.Failure(e));
            else Broken(connection, e);
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            // closing
        }
    }

    private async Task KeepaliveLoopAsync()
    {
        long sequence = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(PingEvery, stop.Token);
                var connection = Connection;
                var silent = TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref lastPong));
                if (silent > Silence && Volatile.Read(ref recovering) is null)
                {
                    var why = new ChannelException(
                        $"the agent at {connection.Peer} stopped answering on the control channel (no reply for {silent.TotalSeconds:0} s)");
                    if (resume is null)
                    {
                        Dead(why);
                        return;
                    }
                    Broken(connection, why);
                    continue;
                }
                await SendAsync(new Ping(++sequence), stop.Token);
            }
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            Dead(Connection.Failure(e));
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            // closing
        }
    }

    /// <summary>The connection broke: starts bringing another (once per broken connection).</summary>
    private void Broken(EngineChannel broken, Exception why)
    {
        lock (sync)
        {
            if (broken != current || recovering is not null || dead is not null) return;
            recovering = RecoverAsync(broken, why);
        }
    }

    private async Task RecoverAsync(EngineChannel broken, Exception why)
    {
        await Task.Yield(); // never done before Broken has stored this task (it clears it when done)
        var lastHeard = DateTime.UtcNow - TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref lastPong));
        broken.Abort();
        var from = network;
        broke?.Invoke(from);
        try
        {
            var fresh = await resume!.Redial(network, lastHeard + resume.Tolerance, stop.Token);
            ControlMessage? again;
            lock (sync)
            {
                current = fresh.Connection;
                network = fresh.Network ?? network;
                again = asked;
            }
            Interlocked.Exchange(ref lastPong, Environment.TickCount64);
            reader = ReadLoopAsync(fresh.Connection);
            if (again is not null) await SendAsync(again, stop.Token);
            resume.FailedOver?.Invoke(new ChannelFailover(resume.Name, from, network, 0, DateTime.UtcNow - lastHeard,
                broken.Failure(why).Message));
            resumed?.Invoke();
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            Dead(new ChannelException($"{broken.Failure(why).Message}; {(e is ChannelException c ? c.Message : PSMigration.Core.Diagnostics.FailureText.Of(e))}", e));
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            // closing
        }
        finally
        {
            lock (sync) recovering = null;
        }
    }

    private void Dead(Exception reason)
    {
        Interlocked.CompareExchange(ref dead, reason, null);
        TaskCompletionSource<ControlMessage>? waiting;
        lock (sync) waiting = reply;
        waiting?.TrySetException(reason);
        onDead(reason);
    }

    /// <summary>Closes the channel, saying goodbye first on a resumable one (so the agent lets go now rather than wait for
    /// this end to come back); safe to call again (a lease is often disposed by both its user and a finally).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return;
        if (resume is not null && dead is null)
        {
            using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                await writeLock.WaitAsync(brief.Token);
                try
                {
                    await new Goodbye().WriteAsync(Connection.Stream, brief.Token).WaitAsync(brief.Token);
                }
                finally
                {
                    writeLock.Release();
                }
            }
            catch (Exception)
            {
                // gone already: the agent lets go once its tolerance is over
            }
        }
        stop.Cancel();
        Connection.Abort();
        foreach (var loop in new[] { keepalive, reader, Volatile.Read(ref recovering) })
            if (loop is not null) await loop.ConfigureAwait(false);
        stop.Dispose();
    }
}
