using System.Net;
using System.Net.Sockets;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>A data or control channel failed; the message says what broke, with whom, where and when:
/// "connection reset by 198.51.100.12:49152 on channel 3 after 1.2 GiB".</summary>
public sealed class ChannelException(string message, Exception? inner = null)
    : MigrationException("ChannelFailed", FailureKind.OperationFailed, message, inner: inner)
{
    /// <summary>The agent answered and said no (not: the network failed): trying again the same way will not help.</summary>
    public bool Refused { get; init; }

    public static ChannelException From(Exception error, EndPoint? peer, string channel, long bytes)
    {
        var after = $"on {channel} after {ByteSize.Format(bytes)}";
        var what = Unwrap(error) switch
        {
            SocketException { SocketErrorCode: SocketError.ConnectionReset } => $"connection reset by {peer}",
            SocketException { SocketErrorCode: SocketError.ConnectionRefused } => $"connection refused by {peer}",
            // TCP_USER_TIMEOUT: data unacknowledged, or a zero window, for the whole stall bound.
            SocketException { SocketErrorCode: SocketError.TimedOut } => $"{peer} stopped reading or answering (timed out)",
            SocketException { SocketErrorCode: SocketError.HostUnreachable or SocketError.NetworkUnreachable } s =>
                $"{peer} is unreachable ({s.SocketErrorCode})",
            SocketException s => $"network error with {peer}: {s.Message}",
            EndOfStreamException => $"connection closed by {peer} before the end of the stream",
            ProtocolException p => $"protocol error from {peer}: {p.Message}",
            TimeoutException t => $"{peer}: {t.Message}",
            var other => $"{other.GetType().Name} with {peer}: {other.Message}",
        };
        return new ChannelException($"{what} {after}", error);
    }

    private static Exception Unwrap(Exception e) =>
        e is IOException { InnerException: { } inner } ? Unwrap(inner) : e;
}
