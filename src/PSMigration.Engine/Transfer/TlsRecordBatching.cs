namespace PSMigration.Engine.Transfer;

/// <summary>
/// The socket's stream under a channel's TLS: SslStream writes each 16 KiB record on its own, so a 256 KiB frame would
/// be sixteen sends; here they wait until the frame is written (<see cref="FlushAsync(CancellationToken)"/>, which
/// <see cref="EngineChannel.WriteAsync"/> calls) and go as one. Reads take what the socket has at once, many records,
/// instead of one call per record. Pass-through until <see cref="Batch"/>: the handshake writes without flushing.
/// </summary>
internal sealed class TlsRecordBatching(Stream socket) : Stream
{
    /// <summary>A frame's records and their overhead fit; a larger write goes straight through.</summary>
    private const int Capacity = 2 * ReplayBuffer.FullFrame;

    private byte[]? writes;
    private int written;
    private byte[]? reads;
    private int readFrom, readTo;

    /// <summary>From now on, writes wait for a flush (call once the TLS handshake is done).</summary>
    public void Batch()
    {
        // Not pooled: an abort disposes the stream while a read may still be filling its buffer.
        writes ??= new byte[Capacity];
        reads ??= new byte[Capacity];
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default)
    {
        if (writes is null)
        {
            await socket.WriteAsync(buffer, cancel);
            return;
        }
        if (written + buffer.Length > writes.Length) await SendWrittenAsync(cancel);
        if (buffer.Length > writes.Length)
        {
            await socket.WriteAsync(buffer, cancel);
            return;
        }
        buffer.Span.CopyTo(writes.AsSpan(written));
        written += buffer.Length;
    }

    public override async Task FlushAsync(CancellationToken cancel)
    {
        await SendWrittenAsync(cancel);
        await socket.FlushAsync(cancel);
    }

    private async ValueTask SendWrittenAsync(CancellationToken cancel)
    {
        if (written == 0) return;
        var pending = written;
        written = 0; // a failed send breaks the connection: nothing of it is sent again on it
        await socket.WriteAsync(writes.AsMemory(0, pending), cancel);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default)
    {
        if (reads is null || buffer.Length >= reads.Length) return readFrom < readTo ? TakeRead(buffer.Span) : await socket.ReadAsync(buffer, cancel);
        if (readFrom == readTo)
        {
            readFrom = 0;
            readTo = await socket.ReadAsync(reads, cancel);
            if (readTo == 0) return 0;
        }
        return TakeRead(buffer.Span);
    }

    private int TakeRead(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, readTo - readFrom);
        reads.AsSpan(readFrom, count).CopyTo(buffer);
        readFrom += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancel) =>
        ReadAsync(buffer.AsMemory(offset, count), cancel).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancel) =>
        WriteAsync(buffer.AsMemory(offset, count), cancel).AsTask();

    // Only the asynchronous calls are used on channels; the synchronous ones are there for Stream's contract.
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) socket.Dispose();
        base.Dispose(disposing);
    }
}
