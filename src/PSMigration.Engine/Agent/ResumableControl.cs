using System.Collections.Concurrent;
using System.Net;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>
/// The agent's end of a control channel that outlives its connection (a session's, a twin's lease): when the
/// connection breaks or goes quiet, it waits up to the source's linkLossToleranceSeconds for the source to bring another
/// (a resume hello with the same id, from an address of the same host), and reads on there. The source asks again what it
/// asked before the break; a message this end wrote on a broken connection is not written again (the question comes
/// again). <see cref="Goodbye"/> from the source ends it at once. Not resumable (zero tolerance): a break is the end.
/// </summary>
internal sealed class ResumableControl : IDisposable
{
    private readonly ControlRejoins registry;
    private readonly Guid id;
    private readonly TimeSpan tolerance;
    private readonly TimeSpan silence;
    private readonly SemaphoreSlim writes = new(1, 1);
    private readonly object sync = new();
    /// <summary>Completed (and replaced) whenever the source brings a new connection.</summary>
    private TaskCompletionSource swapped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private EngineChannel current;
    private long heardAt = Environment.TickCount64;

    private readonly Action? resumed;

    /// <param name="resumed">Told when a new connection has taken over.</param>
    public ResumableControl(EngineChannel first, Guid id, string peerHost, TimeSpan tolerance, TimeSpan stall, ControlRejoins registry, Action? resumed = null)
    {
        this.resumed = resumed;
        current = first;
        this.id = id;
        PeerHost = peerHost;
        this.tolerance = tolerance;
        this.registry = registry;
        // A resumable channel's pings come every second: silence this long is a break to recover from, not the end.
        silence = Resumable ? ChannelLink.DeadAfter : ControlChannel.SilenceLimit(stall);
        if (Resumable) registry.Add(id, this);
    }

    public string PeerHost { get; }
    public EngineChannel Connection
    {
        get { lock (sync) return current; }
    }
    private bool Resumable => tolerance > TimeSpan.Zero;

    /// <summary>The next message from the source (pings answered here), on whichever connection it comes.</summary>
    public async Task<ControlMessage> NextAsync(CancellationToken cancel)
    {
        while (true)
        {
            var connection = Connection;
            try
            {
                var message = await AgentControl.NextAsync(connection, silence, cancel, writes);
                Interlocked.Exchange(ref heardAt, Environment.TickCount64);
                return message;
            }
            catch (Exception e) when (Resumable && !cancel.IsCancellationRequested && e is not ProtocolException)
            {
                await RejoinedAsync(connection, e, cancel);
            }
        }
    }

    /// <summary>Writes a message; on a broken resumable connection it is dropped (the source asks again on the next one).</summary>
    public Task WriteAsync(ControlMessage message, CancellationToken cancel) => TryWriteAsync(message, cancel);

    /// <summary><see cref="WriteAsync"/>, saying whether the message was written (false: the connection broke).</summary>
    public async Task<bool> TryWriteAsync(ControlMessage message, CancellationToken cancel)
    {
        await writes.WaitAsync(cancel);
        var connection = Connection;
        try
        {
            await message.WriteAsync(connection.Stream, cancel).WaitAsync(silence, cancel);
            return true;
        }
        catch (Exception e) when (Resumable && !cancel.IsCancellationRequested && e is not ProtocolException)
        {
            connection.Abort(); // the reader notices, and waits for the source to come back (not the one that came meanwhile)
            return false;
        }
        finally
        {
            writes.Release();
        }
    }

    /// <summary>Waits for the connection that takes over from <paramref name="broken"/>, up to the tolerance after the
    /// source was last heard; else the break stands.</summary>
    private async Task RejoinedAsync(EngineChannel broken, Exception why, CancellationToken cancel)
    {
        broken.Abort();
        var left = TimeSpan.FromMilliseconds(Interlocked.Read(ref heardAt) + (long)tolerance.TotalMilliseconds - Environment.TickCount64);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        bounded.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        try
        {
            while (true)
            {
                Task wait;
                lock (sync)
                {
                    if (current != broken) return; // taken over
                    wait = swapped.Task;
                }
                await wait.WaitAsync(bounded.Token);
            }
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"the source did not come back within {tolerance.TotalSeconds:0} s ({why.Message})", why);
        }
    }

    /// <summary>The source brought a new connection: it takes over now (the old one may not know yet that it is broken).</summary>
    public void Offer(EngineChannel fresh)
    {
        EngineChannel old;
        lock (sync)
        {
            old = current;
            current = fresh;
            Interlocked.Exchange(ref heardAt, Environment.TickCount64);
            swapped.TrySetResult();
            swapped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        old.Abort(); // a reader still on it wakes up, and finds the new one
        resumed?.Invoke();
    }

    public void Dispose()
    {
        registry.Remove(id, this);
        Connection.Abort();
    }
}

/// <summary>The control channels an agent holds for their sources to come back to, by the id of their hello.</summary>
internal sealed class ControlRejoins(IIncomingAuthority authority)
{
    private readonly ConcurrentDictionary<Guid, ResumableControl> held = new();

    public void Add(Guid id, ResumableControl control) => held[id] = control;
    public void Remove(Guid id, ResumableControl control) => held.TryRemove(new KeyValuePair<Guid, ResumableControl>(id, control));

    /// <summary>Why a resume hello from <paramref name="peerHost"/> at <paramref name="address"/> may not take over control
    /// channel <paramref name="id"/>; null: it takes over (<see cref="ResumableControl.Offer"/>).</summary>
    public HelloReply? Refusal(Guid id, string? peerHost, IPAddress address, out ResumableControl? control)
    {
        if (!held.TryGetValue(id, out control)) return new HelloReply(HelloStatus.UnknownSession, "no control channel with this id waits for its source");
        if (peerHost != control.PeerHost) return new HelloReply(HelloStatus.Denied, $"the control channel belongs to {control.PeerHost}, not {peerHost}");
        return authority.AddressRefusal(control.PeerHost, address) is { } foreign
            ? new HelloReply(HelloStatus.Denied, $"the control channel may come back only from an address of {control.PeerHost}: {foreign}")
            : null;
    }
}
