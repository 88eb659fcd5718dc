using System.Net.Sockets;

namespace PSMigration.Core.Diagnostics;

/// <summary>The one mapping from an exception to the words a user reads: the module's own failures say what they
/// are; a timeout, a closed connection or a socket error in the words of the situation; anything else (a defect)
/// with its type, so it can be reported.</summary>
public static class FailureText
{
    /// <param name="timedOut">What a timeout (or a cancellation that is one) means where it happened.</param>
    /// <param name="closed">What the peer closing the connection means there.</param>
    public static string Of(Exception e, string timedOut = "no answer in time", string closed = "the peer closed the connection") => e switch
    {
        MigrationException m => m.Message,
        AggregateException { InnerException: { } inner } => Of(inner, timedOut, closed),
        TimeoutException or OperationCanceledException => timedOut,
        EndOfStreamException => closed,
        IOException { InnerException: SocketException s } => s.Message,
        SocketException s => s.Message,
        IOException io => io.Message,
        _ => $"{e.GetType().Name}: {e.Message}",
    };
}
