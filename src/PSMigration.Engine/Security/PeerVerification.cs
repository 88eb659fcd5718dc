using System.Security.Cryptography.X509Certificates;

namespace PSMigration.Engine.Security;

/// <summary>What one TLS handshake learnt about the peer's certificate: the authenticated host, or why
/// the certificate was refused. Use a new one per handshake.</summary>
internal sealed class PeerVerification
{
    /// <summary>The peer's host name (its certificate's common name), once its certificate has passed.</summary>
    public string? HostName { get; private set; }

    /// <summary>Why the peer's certificate was refused, for logs and errors: "certificate of 'kvm09' is
    /// not issued by the cluster CA (its issuer is '...')". Null when it passed or was never checked.</summary>
    public string? FailureReason { get; private set; }

    /// <summary>Records the verdict and returns it as SslStream's validation callback expects.</summary>
    internal bool Record(X509Certificate? certificate, string? failureReason)
    {
        FailureReason = failureReason;
        HostName = failureReason is null && certificate is X509Certificate2 passed ? ClusterTrust.HostNameOf(passed) : null;
        return failureReason is null;
    }
}
