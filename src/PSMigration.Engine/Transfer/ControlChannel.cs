using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// The source's end of the control channel: serialized writes, a reader that answers for the
/// session, and a keepalive. No pong for <see cref="SilenceLimit"/> means the agent (or the
/// path to it) is gone, and the session is failed with that reason.
/// </summary>
/// <param name="acks">Takes the agent's acknowledgements of the session's data channels (none outside a session).</param>
internal sealed class ControlChannel(EngineChannel connection, Action<Exception> onDead, PSMigration.Core.Diagnostics.IActivityLog log,
    Action<ChannelAcks>? acks = null) : IAsyncDisposable
{
    private static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(1);

    /// <summary>How long either end of a control channel waits for the other before calling it gone:
    /// twice the stall bound, so a stalled data channel is reported as itself (its watchdog fires at
    /// one stall bound) and not as a silent control channel, even when pongs come late on a busy host.</summary>
    public static TimeSpan SilenceLimit(TimeSpan stall) => stall * 2;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    /// <summary>The answer awaited by the one request in flight (the source asks one thing at a time).</summary>
    private TaskCompletionSource<ControlMessage>? reply;
    private Exception? dead;
    private readonly CancellationTokenSource stop = new();
    private long lastPong = Environment.TickCount64;
    private Task? loops;
    private int disposed;

    public EngineChannel Connection { get; } = connection;

    public async Task SendAsync(ControlMessage message, CancellationToken cancel)
    {
        await writeLock.WaitAsync(cancel);
        try
        {
            await message.WriteAsync(Connection.Stream, cancel, log).WaitAsync(Connection.Stall, cancel);
        }
        finally
        {
            writeLock.Release();
        }
    }

    public void Start() => loops = Task.WhenAll(ReadLoopAsync(), KeepaliveLoopAsync());

    /// <summary>Asks the agent what it received, once every data channel has sent its End.</summary>
    public Task<Finished> FinishAsync(CancellationToken cancel) => RequestAsync<Finished>(new Finish(), cancel);

    /// <summary>Sends a request and waits for its answer; a <see cref="Refused"/> answer is the agent's error.</summary>
    public async Task<T> RequestAsync<T>(ControlMessage request, CancellationToken cancel) where T : ControlMessage
    {
        var answer = new TaskCompletionSource<ControlMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref reply, answer, null) is not null)
            throw new InvalidOperationException("one control request at a time");
        try
        {
            if (Volatile.Read(ref dead) is { } reason) throw reason;
            await SendAsync(request, cancel);
            return ControlMessage.As<T>(await answer.Task.WaitAsync(cancel));
        }
        finally
        {
            Interlocked.CompareExchange(ref reply, null, answer);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                switch (await ControlMessage.ReadAsync(Connection.Stream, stop.Token, log))
                {
                    case Pong:
                        Interlocked.Exchange(ref lastPong, Environment.TickCount64);
                        break;
                    case ChannelAcks channelAcks when acks is not null:
                        acks(channelAcks);
                        break;
                    case var answer when Volatile.Read(ref reply) is { } waiting:
                        waiting.TrySetResult(answer);
                        break;
                    case Refused refused:
                        throw new ProtocolException($"the agent ended the session: {refused.Reason}");
                    case var other:
                        throw new ProtocolException($"unexpected {other.GetType().Name} on the control channel");
                }
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

    private async Task KeepaliveLoopAsync()
    {
        long sequence = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(PingEvery, stop.Token);
                var silent = TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref lastPong));
                if (silent > SilenceLimit(Connection.Stall))
                {
                    Dead(new ChannelException(
                        $"the agent at {Connection.Peer} stopped answering on the control channel (no reply for {silent.TotalSeconds:0} s)"));
                    return;
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

    private void Dead(Exception reason)
    {
        Interlocked.CompareExchange(ref dead, reason, null);
        Volatile.Read(ref reply)?.TrySetException(reason);
        onDead(reason);
    }

    /// <summary>Closes the channel; safe to call again (a lease is often disposed by both its user and a finally).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return;
        stop.Cancel();
        Connection.Abort();
        if (loops is not null) await loops.ConfigureAwait(false);
        stop.Dispose();
    }
}
