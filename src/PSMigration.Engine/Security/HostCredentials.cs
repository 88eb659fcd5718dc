using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PSMigration.Engine.Security;

/// <summary>One host's side of the cluster PKI: the CA it trusts and its own certificate and key. Makes
/// the TLS options of every connection between engine and agent: TLS 1.3 only, both sides present their
/// host certificate, and each accepts only certificates of the cluster CA.</summary>
public sealed class HostCredentials : IDisposable
{
    private static readonly Oid[] ServerUse = [CertificateAuthority.ServerAuthentication];
    private static readonly Oid[] ClientUse = [CertificateAuthority.ClientAuthentication];

    private readonly ClusterTrust trust;
    private readonly SslStreamCertificateContext context;

    /// <summary>Takes the certificates as they are (tests build expired or foreign ones this way);
    /// <see cref="ClusterPki.Load"/> checks them first.</summary>
    internal HostCredentials(string hostName, X509Certificate2 caCertificate, X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey) throw new ArgumentException($"the certificate of '{hostName}' has no private key", nameof(certificate));
        HostName = hostName;
        Certificate = certificate;
        trust = new ClusterTrust(caCertificate);
        // Built once: the chain to send is the same for every connection (no intermediates, no downloads).
        context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
    }

    public string HostName { get; }
    public X509Certificate2 CaCertificate => trust.CaCertificate;
    /// <summary>This host's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Options to connect to <paramref name="destinationHostName"/>'s agent: its certificate must be
    /// the cluster CA's and name that host. Pass a <paramref name="verification"/> to learn why a refused
    /// certificate was refused.</summary>
    internal SslClientAuthenticationOptions ClientOptions(string destinationHostName, PeerVerification? verification = null)
    {
        var record = verification ?? new PeerVerification();
        return new SslClientAuthenticationOptions
        {
            TargetHost = destinationHostName,
            EnabledSslProtocols = SslProtocols.Tls13,
            ClientCertificateContext = context,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = trust.ChainPolicy(ServerUse),
            // The verdict is ClusterTrust's alone (chain, dates, use, name), so it can say why.
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                record.Record(certificate, trust.Check(certificate, destinationHostName, ServerUse)),
        };
    }

    /// <summary>Options for the agent's side: the client must present a cluster certificate; its host is
    /// then <see cref="PeerVerification.HostName"/>.</summary>
    internal SslServerAuthenticationOptions ServerOptions(PeerVerification? verification = null)
    {
        var record = verification ?? new PeerVerification();
        return new SslServerAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            ServerCertificateContext = context,
            ClientCertificateRequired = true,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = trust.ChainPolicy(ClientUse),
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                record.Record(certificate, trust.Check(certificate, expectedHost: null, ClientUse)),
        };
    }

    public void Dispose()
    {
        Certificate.Dispose();
        CaCertificate.Dispose();
    }
}
