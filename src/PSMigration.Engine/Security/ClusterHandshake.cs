using System.Net.Security;
using System.Security.Authentication;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Engine.Security;

/// <summary>The TLS handshakes between engine and agent, with failures as <see cref="MigrationException"/>s
/// that say why: "TlsPeerRejected" when a certificate was refused (the message carries the reason),
/// "TlsHandshakeFailed" when TLS itself failed (no TLS 1.3, connection closed).</summary>
internal static class ClusterHandshake
{
    /// <summary>The agent's side: authenticates the client and returns its host name.</summary>
    public static async Task<string> AsServerAsync(SslStream stream, HostCredentials credentials, CancellationToken cancellationToken)
    {
        var verification = new PeerVerification();
        try
        {
            await stream.AuthenticateAsServerAsync(credentials.ServerOptions(verification), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            throw Failure($"The TLS handshake of {credentials.HostName} with a client failed", null, verification, e);
        }
        // A completed handshake always has a verdict: the server requires a certificate and the callback names its host.
        return verification.HostName ?? throw new InvalidOperationException("the TLS handshake completed without checking the client certificate");
    }

    /// <summary>The engine's side: authenticates <paramref name="destinationHostName"/>'s agent.</summary>
    public static async Task AsClientAsync(SslStream stream, HostCredentials credentials, string destinationHostName, CancellationToken cancellationToken)
    {
        var verification = new PeerVerification();
        try
        {
            await stream.AuthenticateAsClientAsync(credentials.ClientOptions(destinationHostName, verification), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            throw Failure($"The TLS handshake of {credentials.HostName} with {destinationHostName} failed", destinationHostName, verification, e);
        }
    }

    private static MigrationException Failure(string what, string? peer, PeerVerification verification, Exception e) =>
        verification.FailureReason is { } reason
            ? new MigrationException("TlsPeerRejected", FailureKind.OperationFailed, $"{what}: {reason}", peer, e)
            : new MigrationException("TlsHandshakeFailed", FailureKind.OperationFailed, $"{what}: {e.Message}", peer, e);
}
