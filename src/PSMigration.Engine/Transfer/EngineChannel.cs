using System.Net;
using System.Net.Sockets;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// One connected channel of the engine, the control channel or a data channel: the socket (so it can be aborted whatever the stream is doing), the stream
/// (plain or TLS), the peer, and its counters. Writes are bounded by <see cref="Stall"/>: a peer that
/// stops reading fails the channel instead of blocking it forever.
/// </summary>
internal sealed class EngineChannel : IDisposable
{
    private readonly Socket socket;
    /// <summary>Why this channel aborted itself: every error that follows is an echo of it.</summary>
    private Exception? brokenBy;

    /// <param name="peer">Given, not read from the socket: a reset socket no longer knows its peer.</param>
    /// <param name="name">For messages; "channel N" when not given.</param>
    public EngineChannel(int index, Socket socket, Stream stream, EndPoint peer, TimeSpan stall, string? name = null)
    {
        Index = index;
        this.socket = socket;
        Stream = stream;
        Stall = stall;
        Peer = peer;
        Name = name ?? $"channel {index}";
    }

    public int Index { get; }
    public Stream Stream { get; }
    public EndPoint Peer { get; }
    /// <summary>This end's address and port (on an agent: the address the peer connected to).</summary>
    public EndPoint? LocalEndPoint => socket.LocalEndPoint;
    public TimeSpan Stall { get; }
    /// <summary>The socket, when the stream is the socket's own bytes (no TLS): its payload may bypass the stream
    /// (<see cref="SplicedPayload"/>).</summary>
    public Socket? Plain => Stream is NetworkStream ? socket : null;
    public string Name { get; }

    /// <summary>Writes and flushes (a TLS channel's records go out together at the flush: <see cref="TlsRecordBatching"/>).</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancel)
    {
        var write = WriteAndFlushAsync(bytes, cancel);
        if (write.IsCompletedSuccessfully) return;
        try
        {
            await write.AsTask().WaitAsync(Stall, cancel);
        }
        catch (TimeoutException)
        {
            var stalled = new TimeoutException($"stopped reading (no progress for {Stall.TotalSeconds:0} s)");
            Interlocked.CompareExchange(ref brokenBy, stalled, null);
            Abort();
            throw stalled;
        }
    }

    private async ValueTask WriteAndFlushAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancel)
    {
        await Stream.WriteAsync(bytes, cancel);
        await Stream.FlushAsync(cancel);
    }

    /// <summary>What broke, with whom, on which channel and after how much.</summary>
    /// <param name="bytes">What the channel carried (a data channel's link counts it; a control channel's is not counted).</param>
    public ChannelException Failure(Exception error, long? bytes = null) =>
        error as ChannelException ?? ChannelException.From(brokenBy ?? error, Peer, Name, bytes ?? 0);

    /// <summary>Closes with a reset, at once: pending reads and writes fail, nothing waits for the peer.</summary>
    public void Abort()
    {
        SocketTuning.Abort(socket);
        Stream.Dispose();
    }

    public void Dispose() => Abort();
}
