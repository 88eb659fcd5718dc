using System.Buffers;
using System.Buffers.Binary;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// The frames a channel has sent that its peer has not acknowledged yet, kept to be sent again over a new connection after
/// a break. Bounded by <see cref="Window"/>: a sender that would go past it waits for the peer's acks, so memory does not
/// grow with what is sent (the frames are the buffers the data was read into: keeping them costs no copy).
/// </summary>
internal sealed class ReplayBuffer : IDisposable
{
    /// <summary>Unacknowledged bytes one channel may have in flight, each way: 32 full frames. Far above what a path's
    /// round trip needs at 10 Gbit/s (1.25 MB per millisecond), small enough for 256 channels.</summary>
    public const int Window = Frames * FullFrame;
    public const int Frames = 32;
    public const int FullFrame = FrameHeader.Size + FramedPump.PayloadSize;

    private sealed record Entry(long Start, long End, byte[] Frame, int Length, bool Pooled);

    private readonly Queue<Entry> frames = new();
    private readonly SemaphoreSlim room = new(Frames, Frames);
    private long next;
    private long acked;
    private long progressAt = Environment.TickCount64;
    private bool disposed;

    /// <summary>The stream position after the last frame sent.</summary>
    public long Sent
    {
        get { lock (frames) return next; }
    }

    /// <summary>The stream position the peer has acknowledged.</summary>
    public long Acked
    {
        get { lock (frames) return acked; }
    }

    /// <summary>How long the oldest unacknowledged frame has waited for the peer (zero when nothing is owed).</summary>
    public TimeSpan Waiting
    {
        get
        {
            lock (frames)
                return frames.Count == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Environment.TickCount64 - progressAt);
        }
    }

    /// <summary>A new connection carries the stream on: the wait for acknowledgements starts again.</summary>
    public void Resumed()
    {
        lock (frames) progressAt = Environment.TickCount64;
    }

    /// <summary>A buffer for one full frame, once the window has room for it.</summary>
    public async ValueTask<byte[]> RentAsync(CancellationToken cancel)
    {
        await room.WaitAsync(cancel);
        return ArrayPool<byte>.Shared.Rent(FullFrame);
    }

    /// <summary>A rented buffer that carried nothing: back to the pool, its room free again.</summary>
    public void GiveBack(byte[] frame)
    {
        ArrayPool<byte>.Shared.Return(frame);
        room.Release();
    }

    /// <summary>Room for a frame that is not rented here (a shared synthetic frame, a Connect, an End).</summary>
    public Task WaitRoomAsync(CancellationToken cancel) => room.WaitAsync(cancel);

    /// <summary>Keeps a frame about to be sent; its room was taken by <see cref="RentAsync"/> or <see cref="WaitRoomAsync"/>.</summary>
    public void Add(byte[] frame, int length, FrameType type, int payload, bool pooled)
    {
        lock (frames)
        {
            if (frames.Count == 0) progressAt = Environment.TickCount64;
            var end = next + StreamPosition.Of(type, payload);
            frames.Enqueue(new Entry(next, end, frame, length, pooled));
            next = end;
        }
    }

    /// <summary>The peer has everything before <paramref name="position"/>: forget those frames.</summary>
    public void Ack(long position)
    {
        lock (frames)
        {
            if (position > next) throw new ProtocolException($"the peer acknowledges position {position}, but only {next} was sent");
            if (position == acked) progressAt = Environment.TickCount64; // told again: the peer is alive and holds up
            if (position <= acked) return;
            acked = position;
            progressAt = Environment.TickCount64;
            while (frames.TryPeek(out var oldest) && oldest.End <= position)
            {
                frames.Dequeue();
                Release(oldest);
            }
        }
    }

    /// <summary>What to send again for a peer that has everything before <paramref name="position"/>: the rest of the
    /// frame it stopped in (as a Data frame of its own), then every later frame.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> From(long position)
    {
        lock (frames)
        {
            if (position < acked || position > next)
                throw new ProtocolException($"the peer resumes at position {position}, outside what is kept ({acked} to {next})");
            var resend = new List<ReadOnlyMemory<byte>>();
            foreach (var entry in frames.Where(e => e.End > position))
            {
                if (position <= entry.Start)
                {
                    resend.Add(entry.Frame.AsMemory(0, entry.Length));
                    continue;
                }
                var skip = (int)(position - entry.Start); // only a Data frame has positions inside it
                var header = new byte[FrameHeader.Size];
                new FrameHeader(FrameType.Data, entry.Length - FrameHeader.Size - skip).Write(header);
                resend.Add(header);
                resend.Add(entry.Frame.AsMemory(FrameHeader.Size + skip, entry.Length - FrameHeader.Size - skip));
            }
            return resend;
        }
    }

    private void Release(Entry entry)
    {
        if (entry.Pooled) ArrayPool<byte>.Shared.Return(entry.Frame);
        if (!disposed) room.Release();
    }

    public void Dispose()
    {
        lock (frames)
        {
            disposed = true;
            while (frames.TryDequeue(out var entry)) Release(entry);
        }
    }

    /// <summary>An Ack frame for <paramref name="position"/>.</summary>
    public static byte[] AckFrame(long position)
    {
        var frame = new byte[FrameHeader.Size + 8];
        new FrameHeader(FrameType.Ack, 8).Write(frame);
        BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(FrameHeader.Size), position);
        return frame;
    }
}
