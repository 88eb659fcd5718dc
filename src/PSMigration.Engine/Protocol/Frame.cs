using System.Buffers.Binary;

namespace PSMigration.Engine.Protocol;

internal enum FrameType : byte
{
    /// <summary>Payload bytes of the stream.</summary>
    Data = 1,
    /// <summary>No more data this way; the payload is the total bytes sent (u64), so loss is detected.</summary>
    End = 2,
    /// <summary>Relay: the source accepted this channel's local stream; connect the target now.</summary>
    Connect = 3,
    /// <summary>How much of the peer's stream arrived (u64 position, <see cref="StreamPosition"/>): the peer may forget it.
    /// The first frame each way on a resumed connection, so each end knows where to go on.</summary>
    Ack = 4,
}

/// <summary>
/// The header before every frame on a data channel (8 bytes, big-endian): u32 payload length,
/// u8 type, 3 reserved zero bytes. A stream that ends without an End frame was truncated.
/// </summary>
internal readonly record struct FrameHeader(FrameType Type, int Length)
{
    public const int Size = 8;
    /// <summary>The largest payload: bounds what a receiver must buffer for one frame.</summary>
    public const int MaxPayload = 1 << 20;

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Length);
        destination[4] = (byte)Type;
        destination[5..Size].Clear();
    }

    public static FrameHeader Read(ReadOnlySpan<byte> source)
    {
        var length = BinaryPrimitives.ReadUInt32BigEndian(source);
        var type = (FrameType)source[4];
        if (type is not (FrameType.Data or FrameType.End or FrameType.Connect or FrameType.Ack))
            throw new ProtocolException($"unknown frame type {source[4]}");
        if (source[5] != 0 || source[6] != 0 || source[7] != 0)
            throw new ProtocolException("reserved bytes of a frame header are not zero");
        if (length > MaxPayload)
            throw new ProtocolException($"a frame of {length} bytes exceeds the limit of {MaxPayload}");
        if (type is FrameType.End or FrameType.Ack && length != 8)
            throw new ProtocolException($"an {type} frame carries 8 bytes, not {length}");
        if (type == FrameType.Connect && length != 0)
            throw new ProtocolException($"a Connect frame carries nothing, not {length} bytes");
        return new FrameHeader(type, (int)length);
    }
}

/// <summary>Where a channel's stream is, in one direction: its payload bytes, plus one for its Connect frame and one for its
/// End frame, each counted once it is sent (or received). Acks and resumes speak in positions, so a Connect or an End lost
/// with a connection is sent again like any data.</summary>
internal static class StreamPosition
{
    /// <summary>How far a frame moves the position: its payload, or one for a Connect or an End.</summary>
    public static long Of(FrameType type, int length) => type == FrameType.Data ? length : 1;
}
