using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace PSMigration.Engine.Protocol;

internal enum ChannelKind : byte
{
    Control = 1,
    Data = 2,
}

/// <summary>
/// The fixed, versioned opening of every connection to an agent (64 bytes, big-endian):
/// <code>
///  0  4  magic "PSMG"          24  2  channel index
///  4  2  version               26  2  channel count
///  6  1  kind                  28 32  token (data channels without TLS)
///  7  1  flags (bit 0: resume) 60  4  reserved (0)
///  8 16  session id
/// </code>
/// One layout for every connection, so an agent rejects garbage after reading 64 bytes at most. A resume hello brings a
/// new connection for a channel (or a control channel) the agent holds already, after its connection broke.
/// </summary>
internal sealed record Hello(ChannelKind Kind, Guid SessionId, int ChannelIndex, int ChannelCount, byte[] Token)
{
    public const int Size = 64;
    public const int TokenSize = 32;
    /// <summary>2: resumable channels (the resume flag, Ack frames).</summary>
    public const ushort CurrentVersion = 2;
    private const byte ResumeFlag = 1;

    /// <summary>Channels one session may have: QEMU's main channel plus its limit of 255 multifd channels.</summary>
    public const int MaxChannels = 256;
    public static ReadOnlySpan<byte> Magic => "PSMG"u8;

    public ushort Version { get; init; } = CurrentVersion;
    /// <summary>This connection takes over from a broken one of the same channel.</summary>
    public bool Resume { get; init; }

    public static Hello Control(Guid session) => new(ChannelKind.Control, session, 0, 0, new byte[TokenSize]);

    public byte[] Encode()
    {
        var bytes = new byte[Size];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), Version);
        bytes[6] = (byte)Kind;
        bytes[7] = Resume ? ResumeFlag : (byte)0;
        SessionId.TryWriteBytes(bytes.AsSpan(8, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(24), (ushort)ChannelIndex);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(26), (ushort)ChannelCount);
        Token.CopyTo(bytes.AsSpan(28, TokenSize));
        return bytes;
    }

    /// <summary>Reads a hello; anything that is not one is a <see cref="ProtocolException"/> saying what.</summary>
    public static Hello Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size) throw new ProtocolException($"a hello is {Size} bytes, got {bytes.Length}");
        if (!bytes[..4].SequenceEqual(Magic))
            throw new ProtocolException($"not a PSMigration connection (starts with {Printable(bytes[..4])})");
        var kind = (ChannelKind)bytes[6];
        if (kind is not (ChannelKind.Control or ChannelKind.Data)) throw new ProtocolException($"unknown channel kind {bytes[6]}");
        if ((bytes[7] & ~ResumeFlag) != 0 || BinaryPrimitives.ReadUInt32BigEndian(bytes[60..]) != 0)
            throw new ProtocolException("reserved bytes of the hello are not zero");
        return new Hello(kind, new Guid(bytes.Slice(8, 16), bigEndian: true),
            BinaryPrimitives.ReadUInt16BigEndian(bytes[24..]), BinaryPrimitives.ReadUInt16BigEndian(bytes[26..]),
            bytes.Slice(28, TokenSize).ToArray())
        {
            Version = BinaryPrimitives.ReadUInt16BigEndian(bytes[4..]),
            Resume = (bytes[7] & ResumeFlag) != 0,
        };
    }

    public static byte[] NewToken() => RandomNumberGenerator.GetBytes(TokenSize);

    private static string Printable(ReadOnlySpan<byte> bytes) =>
        string.Concat(bytes.ToArray().Select(b => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:x2}"));
}

internal enum HelloStatus : byte
{
    Accepted = 0,
    UnsupportedVersion = 1,
    Denied = 2,
    UnknownSession = 3,
    BadToken = 4,
    BadRequest = 5,
}

/// <summary>The agent's answer to a hello: a status and, when refused, why (status, u16 length, UTF-8).</summary>
internal sealed record HelloReply(HelloStatus Status, string Reason)
{
    public const int MaxReason = 1024;

    public static HelloReply Accepted { get; } = new(HelloStatus.Accepted, "");

    public byte[] Encode()
    {
        var reason = Encoding.UTF8.GetBytes(Reason.Length > MaxReason ? Reason[..MaxReason] : Reason);
        var bytes = new byte[3 + reason.Length];
        bytes[0] = (byte)Status;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(1), (ushort)reason.Length);
        reason.CopyTo(bytes, 3);
        return bytes;
    }

    public static async Task<HelloReply> ReadAsync(Stream stream, CancellationToken cancel)
    {
        var head = new byte[3];
        await stream.ReadExactlyAsync(head, cancel);
        var length = BinaryPrimitives.ReadUInt16BigEndian(head.AsSpan(1));
        if (length > MaxReason * 4) throw new ProtocolException($"a refusal reason of {length} bytes");
        var reason = new byte[length];
        await stream.ReadExactlyAsync(reason, cancel);
        return new HelloReply((HelloStatus)head[0], Encoding.UTF8.GetString(reason));
    }
}
