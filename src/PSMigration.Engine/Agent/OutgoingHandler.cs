using System.Threading.Channels;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>
/// A migration of one of this host's VMs for a caller on another host (<see cref="MigrateOutgoing"/>): the
/// <see cref="IOutgoingMigrations"/> runs it here while the caller holds the control channel. Progress and the story go
/// back as they come, through one writer that never blocks the migration (a slow caller loses old progress, not time);
/// the result goes last. <see cref="CancelOutgoing"/>, the channel closing, the caller falling silent (no ping for twice
/// the stall bound) or the agent stopping cancels the migration: the VM runs on here, unless it had switched over.
/// </summary>
internal sealed class OutgoingHandler(AgentOptions options, AgentLog log, CancellationToken stopping)
{
    /// <summary>Messages waiting for the caller: beyond this, the oldest progress and story lines are dropped.</summary>
    private const int Backlog = 256;

    public async Task ServeAsync(EngineChannel control, MigrateOutgoing ask, string caller)
    {
        if (options.Outgoing is not { } outgoing)
        {
            await RefuseAsync(control, ask.Vm, caller, $"the agent of {options.HostName} does not run migrations for other hosts (it has no QEMU configured)");
            return;
        }
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var pending = Channel.CreateBounded<ControlMessage>(new BoundedChannelOptions(Backlog) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        var writer = WriteAsync(control, pending.Reader);
        var reader = ReadAsync(control, pending.Writer, cancel);
        var outcome = "ended";
        try
        {
            log.Outgoing(ask.Vm, caller, "started");
            var result = await outgoing.MigrateAsync(ask.Vm, ask.Request, caller,
                progress => pending.Writer.TryWrite(new OutgoingProgress(progress)), new CallerStory(pending.Writer, ask.Debug), cancel.Token);
            pending.Writer.TryWrite(new OutgoingDone(result));
            outcome = result.TryGetProperty("status", out var status) ? $"{status.GetString()?.ToLowerInvariant()}" : "done";
        }
        catch (MigrationException e)
        {
            pending.Writer.TryWrite(new Refused(e.Message));
            outcome = $"refused, {e.Message}";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var why = $"the agent of {options.HostName} failed to run the migration: {FailureText.Of(e)}";
            pending.Writer.TryWrite(new Refused(why));
            outcome = $"failed, {why}";
        }
        finally
        {
            pending.Writer.TryComplete();
            await writer; // the result, then the channel closes
            control.Abort();
            await reader;
            log.Outgoing(ask.Vm, caller, outcome);
        }
    }

    private async Task RefuseAsync(EngineChannel control, string vm, string caller, string why)
    {
        log.Outgoing(vm, caller, $"refused, {why}");
        await AgentControl.TryRefuseAsync(control, why);
        control.Abort();
    }

    /// <summary>Sends what is pending, in order, until it is complete or the caller is gone.</summary>
    private async Task WriteAsync(EngineChannel control, ChannelReader<ControlMessage> pending)
    {
        try
        {
            await foreach (var message in pending.ReadAllAsync())
                await message.WriteAsync(control.Stream, CancellationToken.None).WaitAsync(options.Stall);
        }
        catch (Exception e) when (e is IOException or TimeoutException or ObjectDisposedException)
        {
            // the caller is gone: the reader cancels the migration
        }
    }

    /// <summary>Answers the caller's pings and cancels the migration when it asks to, closes, or falls silent.</summary>
    private async Task ReadAsync(EngineChannel control, ChannelWriter<ControlMessage> pending, CancellationTokenSource cancel)
    {
        try
        {
            while (true)
            {
                switch (await ControlMessage.ReadAsync(control.Stream, stopping).WaitAsync(ControlChannel.SilenceLimit(options.Stall), stopping))
                {
                    case Ping ping:
                        pending.TryWrite(new Pong(ping.Sequence));
                        break;
                    case CancelOutgoing:
                        cancel.Cancel();
                        break;
                    case var other:
                        throw new ProtocolException($"unexpected {other.GetType().Name} during an outgoing migration");
                }
            }
        }
        catch (Exception)
        {
            // closed, silent, garbage or stopping: the migration must not outlive its caller
            try { cancel.Cancel(); } catch (ObjectDisposedException) { }
        }
    }

    /// <summary>The migration's story, sent to the caller as <see cref="OutgoingNote"/>s.</summary>
    private sealed class CallerStory(ChannelWriter<ControlMessage> pending, bool debug) : IActivityLog
    {
        public bool DebugEnabled => debug;
        public void Verbose(string message) => pending.TryWrite(new OutgoingNote(message, false));
        public void Debug(string message)
        {
            if (debug) pending.TryWrite(new OutgoingNote(message, true));
        }
    }
}
