using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// The source's end of the control channel: serialized writes, a reader that answers for the
/// session, and a keepalive. No pong for <see cref="DataChannel.Stall"/> means the agent (or the
/// path to it) is gone, and the session is failed with that reason.
/// </summary>
internal sealed class ControlChannel(DataChannel connection, Action<Exception> onDead) : IAsyncDisposable
{
    private static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(1);
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly TaskCompletionSource<Finished> finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource stop = new();
    private long lastPong = Environment.TickCount64;
    private Task? loops;

    public DataChannel Connection { get; } = connection;

    public async Task SendAsync(ControlMessage message, CancellationToken cancel)
    {
        await writeLock.WaitAsync(cancel);
        try
        {
            await message.WriteAsync(Connection.Stream, cancel).WaitAsync(Connection.Stall, cancel);
        }
        finally
        {
            writeLock.Release();
        }
    }

    public void Start() => loops = Task.WhenAll(ReadLoopAsync(), KeepaliveLoopAsync());

    /// <summary>Asks the agent what it received, once every data channel has sent its End.</summary>
    public async Task<Finished> FinishAsync(CancellationToken cancel)
    {
        await SendAsync(new Finish(), cancel);
        return await finished.Task.WaitAsync(cancel);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                switch (await ControlMessage.ReadAsync(Connection.Stream, stop.Token))
                {
                    case Pong:
                        Interlocked.Exchange(ref lastPong, Environment.TickCount64);
                        break;
                    case Finished result:
                        finished.TrySetResult(result);
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
                if (silent > Connection.Stall)
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
        finished.TrySetException(reason);
        onDead(reason);
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        Connection.Abort();
        if (loops is not null) await loops.ConfigureAwait(false);
        stop.Dispose();
    }
}
