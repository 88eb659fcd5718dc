using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PSMigration.Engine.Security;

/// <summary>The cluster CA: a self-signed ECDSA P-256 certificate with its private key, which issues
/// the host certificates the engine and the agents authenticate each other with.</summary>
internal sealed class CertificateAuthority : IDisposable
{
    /// <summary>The CA's common name, before a random id that tells one CA from another in messages
    /// ("its issuer is 'PSMigration cluster CA 3f9a27c1'").</summary>
    public const string CommonNamePrefix = "PSMigration cluster CA";
    public static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3653);
    public static readonly TimeSpan HostLifetime = TimeSpan.FromDays(731);

    /// <summary>The hosts' clocks differ a little: a certificate is valid from a while before it is made.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromHours(1);

    internal static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    internal static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    /// <summary>A CA from its certificate, which must carry the private key.</summary>
    internal CertificateAuthority(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A new CA, valid for <see cref="CaLifetime"/>.</summary>
    public static CertificateAuthority Create()
    {
        var now = DateTimeOffset.UtcNow;
        return Create(now - ClockSkew, now + CaLifetime);
    }

    public static CertificateAuthority Create(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = $"CN={CommonNamePrefix} {Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}, O=PSMigration";
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return new CertificateAuthority(request.CreateSelfSigned(notBefore, notAfter));
    }

    /// <summary>A certificate for <paramref name="hostName"/>, valid for <see cref="HostLifetime"/> but
    /// never beyond the CA.</summary>
    public X509Certificate2 Issue(string hostName, IEnumerable<IPAddress> addresses)
    {
        var now = DateTimeOffset.UtcNow;
        var notBefore = Max(now - ClockSkew, Certificate.NotBefore.ToUniversalTime());
        var notAfter = Min(now + HostLifetime, Certificate.NotAfter.ToUniversalTime());
        return Issue(hostName, addresses, notBefore, notAfter);
    }

    /// <summary>A host certificate with the given validity, which must lie within the CA's: CN and DNS name
    /// <paramref name="hostName"/>, an IP address entry for each of <paramref name="addresses"/>, usable
    /// for TLS server and client authentication. Returned with its new private key.</summary>
    public X509Certificate2 Issue(string hostName, IEnumerable<IPAddress> addresses, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(hostName);
        foreach (var address in addresses.Distinct()) names.AddIpAddress(address);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={hostName}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            new OidCollection { ServerAuthentication, ClientAuthentication }, critical: false));
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        // Lets a verifier tell this CA from another one of the same name (a CA replaced with --force).
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));

        using var issued = request.Create(Certificate, notBefore, notAfter, SerialNumber());
        return issued.CopyWithPrivateKey(key);
    }

    public void Dispose() => Certificate.Dispose();

    /// <summary>16 random bytes, positive as RFC 5280 asks.</summary>
    private static byte[] SerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
