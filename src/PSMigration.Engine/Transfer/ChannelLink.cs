using System.Buffers.Binary;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>A connection that takes over a broken one: on the source, one it dialled (maybe on another network); on an
/// agent, the one the source brought with a resume hello.</summary>
internal sealed record Rejoined(EngineChannel Connection, string? Network);

/// <summary>
/// One data channel across its connections, on either end. Each way, the stream is numbered (<see cref="StreamPosition"/>):
/// the receiver acknowledges what arrived (every <see cref="AckEvery"/> or <see cref="AckFrames"/>, soon after a pause, at
/// once for a Connect or an End, over the session's control channel: <see cref="AckSender"/>), the sender keeps what is
/// not acknowledged (<see cref="ReplayBuffer"/>). When a connection breaks, or its peer acknowledges nothing for <see cref="DeadAfter"/> while owed, <c>rejoin</c> brings
/// another one; each end tells the other where its stream stopped, and both go on from there, each byte once. The
/// relay's ends see a pause, nothing else.
/// </summary>
internal sealed class ChannelLink : IDisposable
{
    /// <summary>Acknowledge at least this often (a quarter of the window), so the sender's window never fills on a healthy
    /// path, and seldom enough that acknowledgements cost next to nothing (one per frame cost a quarter of the relay's CPU).</summary>
    private const long AckEvery = ReplayBuffer.Window / 4;
    /// <summary>... or after this many frames: the window counts frames, and a QEMU writing in small pieces fills it with
    /// small ones.</summary>
    private const int AckFrames = ReplayBuffer.Frames / 4;
    /// <summary>A peer that acknowledges nothing this long while bytes are owed is gone: far longer than any round trip
    /// or any pause of a QEMU reading its socket, short enough that a failover costs seconds, not a stall bound.</summary>
    public static readonly TimeSpan DeadAfter = TimeSpan.FromSeconds(5);
    /// <summary>A frame the local end has not taken for this long gets the peer told that this end is still here.</summary>
    private static readonly TimeSpan StillHereAfter = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly SemaphoreSlim readLock = new(1, 1);
    private readonly ReplayBuffer replay = new();
    private readonly object sync = new();
    /// <summary>Brings the connection that takes over from the broken one (given the network it was on), before the
    /// deadline; null: a break is the end.</summary>
    private readonly Func<string?, DateTime, CancellationToken, Task<Rejoined>>? rejoin;
    private readonly TimeSpan tolerance;
    private readonly Action<ChannelFailover>? failedOver;
    private readonly CancellationTokenSource closed = new();
    private readonly Timer watchdog;
    private EngineChannel connection;
    private Task<EngineChannel>? recovering;
    private Exception? lost;
    /// <summary>The position of the peer's stream that arrived, and the last one acknowledged to it.</summary>
    private long received, acknowledged;
    /// <summary>Frames that arrived since the last acknowledgement was sent.</summary>
    private int unacknowledgedFrames;
    /// <summary>When the frame being handed on began to wait for the local end to take it (0: none waits). A QEMU that
    /// stops reading one channel (its multifd waits for the others, say, while they fail over) holds this end up.</summary>
    private long deliveringSince;
    /// <summary>The peer is to hear that this end is alive though its position stands still (see <see cref="Watch"/>).</summary>
    private int stillHereDue;
    /// <summary>Asks for an acknowledgement to be sent (the session's <see cref="AckSender"/>).</summary>
    private AckSender? acks;
    private readonly TaskCompletionSource peerEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long endAt = -1;

    /// <param name="rejoin">How another connection comes (null: not resumable; <see cref="OnAgent"/>: the source brings it).</param>
    /// <param name="tolerance">How long after the link last carried anything it may take to come back.</param>
    public ChannelLink(EngineChannel connection, string? network, Func<string?, DateTime, CancellationToken, Task<Rejoined>>? rejoin,
        TimeSpan tolerance, Action<ChannelFailover>? failedOver)
    {
        this.connection = connection;
        this.rejoin = rejoin;
        this.tolerance = tolerance;
        this.failedOver = failedOver;
        Stats = new ChannelStats(connection.Index, network);
        watchdog = new Timer(_ => Watch(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Where acknowledgements go: the session's control channel.</summary>
    public void AcknowledgeThrough(AckSender sender) => acks = sender;

    public int Index => connection.Index;
    public string Name => connection.Name;
    public ChannelStats Stats { get; }
    public EngineChannel Connection
    {
        get { lock (sync) return connection; }
    }

    /// <summary>What broke, with whom, on which channel and after how much.</summary>
    public ChannelException Failure(Exception error) =>
        lost as ChannelException ?? error as ChannelException ?? Connection.Failure(error, Carried);

    /// <summary>The bytes this channel carried, both ways, over all its connections.</summary>
    private long Carried => Stats.Carried;

    /// <summary>Why <paramref name="broken"/> was given up, with the channel's own count.</summary>
    private ChannelException BrokenFailure(EngineChannel broken) => broken.Failure(brokenReason ?? new IOException("the connection broke"), Carried);

    // ---- sending ----

    /// <summary>A buffer for a full Data frame, once the window has room.</summary>
    public ValueTask<byte[]> RentAsync(CancellationToken cancel) => replay.RentAsync(cancel);

    /// <summary>A buffer from <see cref="RentAsync"/> that carried nothing.</summary>
    public void GiveBack(byte[] frame) => replay.GiveBack(frame);

    /// <summary>Sends a Data frame read into a buffer from <see cref="RentAsync"/> (its header is written here).</summary>
    public Task SendDataAsync(byte[] frame, int payload, CancellationToken cancel)
    {
        new FrameHeader(FrameType.Data, payload).Write(frame);
        Stats.AddSent(payload);
        return SendAsync(frame, FrameHeader.Size + payload, FrameType.Data, payload, pooled: true, cancel);
    }

    /// <summary>Sends a prepared Data frame that stays the caller's (the synthetic frame, the same every time).</summary>
    public async Task SendSharedAsync(byte[] frame, CancellationToken cancel)
    {
        await replay.WaitRoomAsync(cancel);
        var payload = frame.Length - FrameHeader.Size;
        Stats.AddSent(payload);
        await SendAsync(frame, frame.Length, FrameType.Data, payload, pooled: false, cancel);
    }

    public async Task SendConnectAsync(CancellationToken cancel)
    {
        var frame = new byte[FrameHeader.Size];
        new FrameHeader(FrameType.Connect, 0).Write(frame);
        await replay.WaitRoomAsync(cancel);
        await SendAsync(frame, frame.Length, FrameType.Connect, 0, pooled: false, cancel);
    }

    /// <summary>Sends the End frame with the payload total, so the receiver can check it lost nothing.</summary>
    public async Task SendEndAsync(CancellationToken cancel)
    {
        var frame = new byte[FrameHeader.Size + 8];
        new FrameHeader(FrameType.End, 8).Write(frame);
        BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(FrameHeader.Size), Stats.BytesSent);
        await replay.WaitRoomAsync(cancel);
        Volatile.Write(ref endAt, replay.Sent + 1); // before the write: its Ack may come back before the write returns
        await SendAsync(frame, frame.Length, FrameType.End, 8, pooled: false, cancel);
    }

    /// <summary>Keeps the frame, then writes it; if the connection breaks, the recovery sends it again with the rest.</summary>
    private async Task SendAsync(byte[] frame, int length, FrameType type, int payload, bool pooled, CancellationToken cancel)
    {
        EngineChannel current;
        await writeLock.WaitAsync(cancel);
        try
        {
            replay.Add(frame, length, type, payload, pooled);
            current = Connection;
            try
            {
                await current.WriteAsync(frame.AsMemory(0, length), cancel);
                return;
            }
            catch (Exception e) when (!cancel.IsCancellationRequested)
            {
                current.Abort(); // so a recovery waiting for the lock finds it broken
                BrokenBy(current, e);
            }
        }
        finally
        {
            writeLock.Release();
        }
        await RecoverAsync(current, cancel); // it sends this frame again, from where the peer stopped
    }

    // ---- receiving ----

    /// <summary>Reads the first frame of the peer's stream, which must be its Connect.</summary>
    public async Task ExpectConnectAsync(CancellationToken cancel)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(FramedPump.PayloadSize);
        try
        {
            var header = await NextFrameAsync(buffer, null, null, cancel);
            if (header.Type != FrameType.Connect) throw new ProtocolException($"expected a Connect frame, got {header.Type}");
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Receives the peer's stream until its End (writing the payload to <paramref name="deliver"/>, or through
    /// <paramref name="spliced"/> when a connection is plain, or dropping it when null; <paramref name="atPeerEnd"/> then),
    /// and reads on until this end's own End is acknowledged: only then is nothing left that might have to be sent again.</summary>
    public async Task ReceiveAsync(Func<ReadOnlyMemory<byte>, CancellationToken, Task>? deliver, SplicedPayload? spliced,
        Func<CancellationToken, Task>? atPeerEnd, CancellationToken cancel)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(FramedPump.PayloadSize);
        try
        {
            while (!peerEnded.Task.IsCompleted)
            {
                var header = await NextFrameAsync(buffer, deliver, spliced, cancel);
                if (header.Type == FrameType.Connect) throw new ProtocolException("a second Connect frame");
            }
            if (atPeerEnd is not null) await atPeerEnd(cancel);
            await ownEndAcknowledged.Task.WaitAsync(cancel); // over the control channel; a break meanwhile is the watchdog's

        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private readonly TaskCompletionSource ownEndAcknowledged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The peer has everything of this end's stream before <paramref name="position"/>.</summary>
    private void TakeAck(long position)
    {
        replay.Ack(position);
        if (Volatile.Read(ref endAt) is >= 0 and var end && position >= end) ownEndAcknowledged.TrySetResult();
    }


    /// <summary>Reads one frame of the peer's stream, whatever connection it comes on: Data is delivered, an Ack taken; returns
    /// its header. What arrived is counted (and acknowledged) once delivered.</summary>
    private async Task<FrameHeader> NextFrameAsync(byte[] buffer, Func<ReadOnlyMemory<byte>, CancellationToken, Task>? deliver,
        SplicedPayload? spliced, CancellationToken cancel)
    {
        while (true)
        {
            var current = Connection;
            var inKernel = false;
            FrameHeader header = default;
            Exception? broke = null;
            long announced = 0;
            // A frame is read and counted under the read lock, so a resume never reports a position short of a frame
            // already taken off a connection (it would come again, twice delivered).
            await readLock.WaitAsync(cancel);
            try
            {
                await current.Stream.ReadExactlyAsync(buffer.AsMemory(0, FrameHeader.Size), cancel);
                header = FrameHeader.Read(buffer);
                if (header.Length > FramedPump.PayloadSize) throw new ProtocolException($"a frame of {header.Length} bytes exceeds {FramedPump.PayloadSize}");
                if (header.Type == FrameType.Data && spliced is not null && current.Plain is not null)
                {
                    await spliced.TakeAsync(current, header.Length, cancel);
                    inKernel = true;
                }
                else await current.Stream.ReadExactlyAsync(buffer.AsMemory(0, header.Length), cancel);
                if (header.Type == FrameType.End)
                {
                    announced = BinaryPrimitives.ReadInt64BigEndian(buffer);
                    if (announced != Stats.BytesReceived)
                        throw new ProtocolException($"the peer sent {announced} bytes but {Stats.BytesReceived} arrived");
                }
                if (header.Type == FrameType.Data) Stats.AddReceived(header.Length);
                // An Ack frame belongs only at the start of a resumed connection (ResumeOnAsync reads it there).
                if (header.Type == FrameType.Ack) throw new ProtocolException("an Ack frame in the middle of a stream");
                Interlocked.Add(ref received, StreamPosition.Of(header.Type, header.Length));
            }
            catch (Exception e) when (!cancel.IsCancellationRequested && e is not ProtocolException)
            {
                broke = e;
            }
            finally
            {
                readLock.Release();
            }
            if (broke is not null)
            {
                spliced?.Discard(); // a frame taken in part comes again whole
                BrokenBy(current, broke);
                await RecoverAsync(current, cancel);
                continue;
            }
            switch (header.Type)
            {
                case FrameType.Data:
                    if (deliver is not null)
                    {
                        Volatile.Write(ref deliveringSince, Environment.TickCount64);
                        try
                        {
                            if (inKernel) await spliced!.DeliverAsync(cancel);
                            else await deliver(buffer.AsMemory(0, header.Length), cancel);
                        }
                        finally
                        {
                            Volatile.Write(ref deliveringSince, 0);
                        }
                    }
                    AckIfDue(pause: header.Length < FramedPump.PayloadSize);
                    break;
                case FrameType.End:
                    acks?.Wanted(); // the peer waits for it to finish
                    peerEnded.TrySetResult();
                    break;
                default:
                    acks?.Wanted();
                    break;
            }
            return header;
        }
    }

    /// <summary>Asks for an acknowledgement when enough has arrived; after a frame shorter than full (the peer may have
    /// paused), for one soon, so a quiet peer's window empties too.</summary>
    private void AckIfDue(bool pause)
    {
        if (Interlocked.Increment(ref unacknowledgedFrames) >= AckFrames
            || Interlocked.Read(ref received) - Interlocked.Read(ref acknowledged) >= AckEvery) acks?.Wanted();
        else if (pause) acks?.Soon();
    }

    /// <summary>The position of the peer's stream that arrived.</summary>
    public long Received => Interlocked.Read(ref received);

    /// <summary>The position of the peer's stream that arrived, if not acknowledged yet, or if the peer is to hear that
    /// this end is still here (else null).</summary>
    public long? Unacknowledged =>
        Interlocked.Read(ref received) is var now && (now > Interlocked.Read(ref acknowledged) || Volatile.Read(ref stillHereDue) == 1) ? now : null;

    /// <summary>The peer was told that <paramref name="position"/> arrived.</summary>
    public void Acknowledged(long position)
    {
        Volatile.Write(ref unacknowledgedFrames, 0);
        Volatile.Write(ref stillHereDue, 0);
        long seen;
        do seen = Interlocked.Read(ref acknowledged);
        while (position > seen && Interlocked.CompareExchange(ref acknowledged, position, seen) != seen);
    }

    /// <summary>The peer says everything before <paramref name="position"/> of this end's stream arrived.</summary>
    public void PeerHas(long position) => TakeAck(position);

    // ---- breaking and recovering ----

    /// <summary>The acknowledgements' path (the control channel) is back after a break: their wait starts again.</summary>
    public void AckPathBack() => replay.Resumed();

    /// <summary>A peer that owes acknowledgements and sends none is gone, even if TCP has not noticed: the recovery starts
    /// here, whether or not a loop is reading or writing the connection now.</summary>
    private void Watch()
    {
        // This end waits for its local end to take a frame: it reads nothing more, so the peer hears nothing new. Its
        // position, told again, says it is alive and holds all before it (the peer's wait starts again).
        if (Volatile.Read(ref deliveringSince) is not 0 and var since && Environment.TickCount64 - since >= StillHereAfter.TotalMilliseconds)
        {
            Volatile.Write(ref stillHereDue, 1);
            acks?.Wanted();
        }
        if (replay.Waiting <= DeadAfter || lost is not null || rejoin is null || acks?.Excuses(Stats.Network) == true) return;
        var current = Connection;
        lock (sync)
            if (recovering is not null) return;
        BrokenBy(current, new TimeoutException($"acknowledged nothing for {DeadAfter.TotalSeconds:0} s"));
        current.Abort();
        _ = RecoverAsync(current, CancellationToken.None).ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>Why the current connection broke (the first reason; the rest are its echoes).</summary>
    private Exception? brokenReason;

    private void BrokenBy(EngineChannel broken, Exception e)
    {
        lock (sync)
            if (broken == connection) brokenReason ??= e;
    }

    private readonly System.Threading.Channels.Channel<EngineChannel> offered = System.Threading.Channels.Channel.CreateUnbounded<EngineChannel>();

    /// <summary>An agent's end: another connection comes when the source brings one (<see cref="Offer"/>); resumable
    /// only when <paramref name="tolerance"/> is not zero.</summary>
    public static ChannelLink OnAgent(EngineChannel connection, string? network, TimeSpan tolerance)
    {
        ChannelLink? link = null;
        link = new ChannelLink(connection, network, tolerance <= TimeSpan.Zero ? null : (_, deadline, cancel) => link!.OfferedAsync(deadline, cancel), tolerance, null);
        return link;
    }

    private async Task<Rejoined> OfferedAsync(DateTime deadline, CancellationToken cancel)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        bounded.CancelAfter(Max(deadline - DateTime.UtcNow, TimeSpan.Zero));
        try
        {
            var fresh = await offered.Reader.ReadAsync(bounded.Token);
            while (offered.Reader.TryRead(out var newer)) // the source gave up on the older ones: it waits on the newest
            {
                fresh.Abort();
                fresh = newer;
            }
            return new Rejoined(fresh, null);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new ChannelException($"the source did not come back within {tolerance.TotalSeconds:0} s");
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>On the agent: the source brought a new connection for this channel. It takes over at once, whether or
    /// not this end has noticed that the old one broke (a cut link is silent), and even if this end is done reading.</summary>
    public void Offer(EngineChannel fresh)
    {
        offered.Writer.TryWrite(fresh);
        var current = Connection;
        BrokenBy(current, new IOException("the source brought a new connection"));
        current.Abort();
        _ = RecoverAsync(current, CancellationToken.None).ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>Waits for (or starts) the recovery of <paramref name="broken"/>; returns at once if it was replaced already.</summary>
    private async Task RecoverAsync(EngineChannel broken, CancellationToken cancel)
    {
        Task<EngineChannel> recovery;
        lock (sync)
        {
            if (connection != broken) return;
            if (lost is not null) throw lost;
            if (rejoin is null)
            {
                lost = BrokenFailure(broken);
                throw lost;
            }
            recovery = recovering ??= RecoverCoreAsync(broken);
        }
        await recovery.WaitAsync(cancel);
    }

    private async Task<EngineChannel> RecoverCoreAsync(EngineChannel broken)
    {
        // Never done before RecoverAsync has stored this task: it clears it when done, and a stale finished task
        // would stand for every later break (a recovery that completes at once, as on an agent, is possible).
        await Task.Yield();
        var why = BrokenFailure(broken);
        // Lost from when the channel had something held up: its oldest unacknowledged frame, or now for a channel that was
        // idle (a quiet QEMU main channel lost nothing while it had nothing to say). The tolerance counts from there too.
        var lastHeard = DateTime.UtcNow - replay.Waiting;
        var deadline = lastHeard + tolerance;
        var atBytes = Carried;
        broken.Abort();
        var from = Stats.Network;
        try
        {
            while (true)
            {
                var fresh = await rejoin!(from, deadline, closed.Token);
                try
                {
                    await ResumeOnAsync(fresh, atBytes);
                }
                catch (Exception e) when (e is not ProtocolException && DateTime.UtcNow < deadline && !closed.IsCancellationRequested)
                {
                    fresh.Connection.Abort(); // broke again while resuming: another one
                    continue;
                }
                failedOver?.Invoke(new ChannelFailover(Name, from, Stats.Network, atBytes, DateTime.UtcNow - lastHeard, why.Message));
                return fresh.Connection;
            }
        }
        catch (Exception e)
        {
            var failure = new ChannelException($"{why.Message}; {(e is ChannelException c ? c.Message : FailureText(e))}", e);
            lock (sync)
            {
                lost = failure;
                recovering = null;
            }
            throw failure;
        }
    }

    private static string FailureText(Exception e) => PSMigration.Core.Diagnostics.FailureText.Of(e);

    /// <summary>Each end says where the peer's stream stopped; then this end sends again what the peer has not, and the
    /// new connection takes over, all before any frame is read or written on it otherwise.</summary>
    private async Task ResumeOnAsync(Rejoined fresh, long atBytes)
    {
        await readLock.WaitAsync(closed.Token);
        try
        {
            await writeLock.WaitAsync(closed.Token);
            try
            {
                var position = Interlocked.Read(ref received);
                await fresh.Connection.WriteAsync(ReplayBuffer.AckFrame(position), closed.Token);
                Acknowledged(position);
                var head = new byte[FrameHeader.Size + 8];
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(closed.Token);
                bounded.CancelAfter(DeadAfter);
                await fresh.Connection.Stream.ReadExactlyAsync(head, bounded.Token);
                if (FrameHeader.Read(head) is not { Type: FrameType.Ack })
                    throw new ProtocolException("a resumed connection must start with an Ack frame");
                var peerHas = BinaryPrimitives.ReadInt64BigEndian(head.AsSpan(FrameHeader.Size));
                TakeAck(peerHas);
                replay.Resumed();
                foreach (var part in replay.From(peerHas)) await fresh.Connection.WriteAsync(part, closed.Token);
                lock (sync)
                {
                    connection = fresh.Connection;
                    Stats.MovedTo(fresh.Network ?? Stats.Network, atBytes);
                    recovering = null;
                    brokenReason = null;
                }
            }
            finally
            {
                writeLock.Release();
            }
        }
        finally
        {
            readLock.Release();
        }
    }

    /// <summary>Resets the connection and stops any recovery: the session is over.</summary>
    public void Abort()
    {
        lock (sync) lost ??= new ChannelException($"{Name} was closed");
        closed.Cancel();
        Connection.Abort();
    }

    public void Dispose()
    {
        Abort();
        watchdog.Dispose();
        replay.Dispose();
    }
}
