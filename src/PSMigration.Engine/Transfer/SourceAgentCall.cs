using System.Text.Json;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// Has a VM's source agent migrate it (a runbook on another host): one TLS control channel with this host's cluster
/// certificate, the ask, then its progress and story as they come and its result last. Cancelling asks the agent to
/// cancel and waits a bounded time for its (Cancelled) result. The channel is pinged like a session's, so a caller that
/// goes away makes the agent cancel, and an agent that goes away is noticed here.
/// </summary>
public static class SourceAgentCall
{
    private static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(1);
    /// <summary>How long a cancelled call waits for the agent's result: a rollback takes seconds.</summary>
    public static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(60);

    /// <param name="options">The agent (of the VM's source host) and how to reach it: from this host's address, with its credentials.</param>
    /// <param name="request">What the agent's migrations host reads (opaque here).</param>
    /// <returns>The agent's result (opaque here).</returns>
    /// <exception cref="ChannelException">The agent refused, could not be reached, or went silent; what it said or why.</exception>
    public static async Task<JsonElement> RunAsync(SessionOptions options, string vm, JsonElement request, Action<JsonElement> progress, CancellationToken cancel)
    {
        var log = options.Log;
        var connection = await AgentConnector.ConnectAsync(options, Hello.Control(Guid.NewGuid()), tls: true, "the control channel", cancel);
        using var writes = new SemaphoreSlim(1, 1);
        using var stop = new CancellationTokenSource();
        try
        {
            await SendAsync(new MigrateOutgoing(vm, request, log.DebugEnabled));
            var keepalive = KeepaliveAsync();
            using var cancelled = cancel.Register(() =>
            {
                _ = SendAsync(new CancelOutgoing());
                stop.CancelAfter(CancelWait); // the agent's Cancelled result, or give up on it
            });
            var silence = ControlChannel.SilenceLimit(options.Stall);
            try
            {
                while (true)
                {
                    switch (await ControlMessage.ReadAsync(connection.Stream, stop.Token).WaitAsync(silence, stop.Token))
                    {
                        case Pong:
                            break;
                        case OutgoingProgress report:
                            progress(report.Progress);
                            break;
                        case OutgoingNote { Debug: true } note:
                            log.Debug($"{options.AgentHost}: {note.Text}");
                            break;
                        case OutgoingNote note:
                            log.Verbose($"{options.AgentHost}: {note.Text}");
                            break;
                        case OutgoingDone done:
                            return done.Result;
                        case Refused refused:
                            throw new ChannelException($"the agent of {options.AgentHost} refused: {refused.Reason}");
                        case var other:
                            throw new ProtocolException($"unexpected {other.GetType().Name} from the agent of {options.AgentHost}");
                    }
                }
            }
            finally
            {
                stop.Cancel();
                await keepalive;
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new ChannelException(
                $"the agent of {options.AgentHost} did not confirm within {CancelWait.TotalSeconds:0} s that it cancelled the migration of {vm}: " +
                "the inventory says where the VM runs; its log says what happened");
        }
        catch (Exception e) when (e is ProtocolException or TimeoutException or IOException or EndOfStreamException)
        {
            throw new ChannelException(
                $"lost the agent of {options.AgentHost} ({options.Agent}) while it migrated {vm}: {connection.Failure(e).Message}. " +
                "An agent whose caller has gone cancels the migration, unless it had switched over: the inventory says where the VM runs", e);
        }
        finally
        {
            connection.Abort();
        }

        async Task SendAsync(ControlMessage message)
        {
            try
            {
                await writes.WaitAsync(stop.Token);
                try
                {
                    await message.WriteAsync(connection.Stream, stop.Token).WaitAsync(options.Stall, stop.Token);
                }
                finally
                {
                    writes.Release();
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or TimeoutException)
            {
                // closing, or the agent is gone: the reader says so
            }
        }

        async Task KeepaliveAsync()
        {
            long sequence = 0;
            try
            {
                while (true)
                {
                    await Task.Delay(PingEvery, stop.Token);
                    await SendAsync(new Ping(++sequence));
                }
            }
            catch (OperationCanceledException)
            {
                // the call is over
            }
        }
    }
}
