using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Engine.Security;

/// <summary>A host to give a certificate: its name and the addresses the certificate names; <paramref name="Origin"/>
/// says where it was declared (file:line:column), for messages.</summary>
public sealed record PkiHost(string Name, IReadOnlyList<IPAddress> Addresses, string? Origin = null);

/// <summary>
/// Creates and loads the cluster PKI: a CA, and for every host a certificate the engine
/// and the agents authenticate each other with (mutual TLS 1.3).
/// <para>An existing CA is never overwritten without <c>force</c>. Without it, the CA of the directory is
/// reused to issue certificates for the hosts that have none (a host added to the inventory), and
/// existing host certificates stay as they are: running it again never invalidates a deployed host.
/// With <c>force</c>, a new CA and new certificates for every host replace the old ones.</para>
/// </summary>
public static class ClusterPki
{
    private static readonly Oid[] HostUses = [CertificateAuthority.ServerAuthentication, CertificateAuthority.ClientAuthentication];

    /// <summary>The files <see cref="Initialize"/> would write, without writing anything (for -WhatIf).</summary>
    public static IReadOnlyList<string> Plan(IReadOnlyList<PkiHost> hosts, string directory, bool force = false) =>
        PkiPlan.For(hosts, directory, force).Files;

    /// <summary>Writes the CA (unless one is reused) and the certificates of the hosts that need one;
    /// returns the files written, none when every host already has its certificate.</summary>
    public static IReadOnlyList<string> Initialize(IReadOnlyList<PkiHost> hosts, string directory, bool force = false)
    {
        var plan = PkiPlan.For(hosts, directory, force);
        if (plan.Files.Count == 0) return plan.Files;

        PemFile.CreateDirectory(plan.Directory);
        using var ca = plan.NewCa ? CreateCa(plan.Directory) : LoadCa(plan.Directory);
        foreach (var host in plan.Hosts)
        {
            using var certificate = ca.Issue(host.Name, host.Addresses);
            WriteKeyAndCertificate(certificate, PkiPaths.HostKey(plan.Directory, host.Name), PkiPaths.HostCertificate(plan.Directory, host.Name));
        }
        return plan.Files;
    }

    /// <summary>Copies a host's credentials into <paramref name="target"/> under the names GnuTLS users
    /// (QEMU's tls-creds-x509, libvirt) expect: <c>ca-cert.pem</c>, <c>ROLE-cert.pem</c>, <c>ROLE-key.pem</c>,
    /// where ROLE is "server" or "client". The directory and the key are the owner's only.</summary>
    public static void ExportForGnuTls(string directory, string hostName, string target, string role)
    {
        PemFile.CreateDirectory(target);
        PemFile.Write(Path.Combine(target, "ca-cert.pem"), PemFile.Read(PkiPaths.CaCertificate(directory)), PemFile.CertificateMode);
        PemFile.Write(Path.Combine(target, $"{role}-cert.pem"), PemFile.Read(PkiPaths.HostCertificate(directory, hostName)), PemFile.CertificateMode);
        PemFile.Write(Path.Combine(target, $"{role}-key.pem"), PemFile.Read(PkiPaths.HostKey(directory, hostName)), PemFile.PrivateKeyMode);
    }

    /// <summary>The credentials of <paramref name="hostName"/>: <c>ca.crt</c>, <c>HOST.crt</c> and <c>HOST.key</c>
    /// of <paramref name="directory"/>, checked to be a valid certificate of that CA for that host.</summary>
    public static HostCredentials Load(string directory, string hostName)
    {
        if (PkiPaths.WhyNotAHostName(hostName) is { } why)
            throw new MigrationException("PkiHostNameInvalid", FailureKind.InvalidInput, $"Host '{hostName}' cannot have a certificate: {why}", hostName);

        var caPath = PkiPaths.CaCertificate(directory);
        var certificatePath = PkiPaths.HostCertificate(directory, hostName);
        var ca = PemFile.ReadCertificate(caPath);
        try
        {
            var certificate = PemFile.ReadCertificateWithKey(certificatePath, PkiPaths.HostKey(directory, hostName));
            if (new ClusterTrust(ca).Check(certificate, hostName, HostUses) is { } reason)
            {
                certificate.Dispose();
                throw new MigrationException("PkiCertificateInvalid", FailureKind.InvalidInput,
                    $"The certificate {certificatePath} cannot be used by {hostName}: {reason} (cluster CA: {caPath})", certificatePath);
            }
            return new HostCredentials(hostName, ca, certificate);
        }
        catch
        {
            ca.Dispose();
            throw;
        }
    }

    private static CertificateAuthority CreateCa(string directory)
    {
        var ca = CertificateAuthority.Create();
        WriteKeyAndCertificate(ca.Certificate, PkiPaths.CaKey(directory), PkiPaths.CaCertificate(directory));
        return ca;
    }

    private static CertificateAuthority LoadCa(string directory)
    {
        var path = PkiPaths.CaCertificate(directory);
        var certificate = PemFile.ReadCertificateWithKey(path, PkiPaths.CaKey(directory));
        var problem = certificate.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority)
            ? DateTime.Now > certificate.NotAfter ? $"it expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}" : null
            : "it is not a CA certificate";
        if (problem is null) return new CertificateAuthority(certificate);
        certificate.Dispose();
        throw new MigrationException("PkiCaInvalid", FailureKind.InvalidInput,
            $"The cluster CA {path} cannot issue certificates: {problem}. Nothing was written: " +
            "use --force (-Force) to create a new CA and new certificates for every host", path);
    }

    /// <summary>The key first: a certificate on disk always has its key beside it.</summary>
    private static void WriteKeyAndCertificate(X509Certificate2 certificate, string keyPath, string certificatePath)
    {
        using var key = certificate.GetECDsaPrivateKey()
            ?? throw new InvalidOperationException($"the certificate for {certificatePath} has no ECDSA private key");
        PemFile.Write(keyPath, key.ExportPkcs8PrivateKeyPem(), PemFile.PrivateKeyMode);
        PemFile.Write(certificatePath, certificate.ExportCertificatePem(), PemFile.CertificateMode);
    }

    /// <summary>What an initialisation will do, decided before anything is written.</summary>
    private sealed record PkiPlan(string Directory, bool NewCa, IReadOnlyList<PkiHost> Hosts)
    {
        public IReadOnlyList<string> Files { get; } =
            (NewCa ? new[] { PkiPaths.CaCertificate(Directory), PkiPaths.CaKey(Directory) } : [])
            .Concat(Hosts.SelectMany(h => new[] { PkiPaths.HostCertificate(Directory, h.Name), PkiPaths.HostKey(Directory, h.Name) }))
            .ToList();

        public static PkiPlan For(IReadOnlyList<PkiHost> hosts, string directory, bool force)
        {
            foreach (var host in hosts)
                if (PkiPaths.WhyNotAHostName(host.Name) is { } why)
                    throw new MigrationException("PkiHostNameInvalid", FailureKind.InvalidInput,
                        $"{(host.Origin is null ? "" : host.Origin + ": ")}host '{host.Name}' cannot have a certificate: {why}", host.Name);

            directory = Path.GetFullPath(directory);
            var (caCertificate, caKey) = (PkiPaths.CaCertificate(directory), PkiPaths.CaKey(directory));
            if (force || (!File.Exists(caCertificate) && !File.Exists(caKey)))
                return new PkiPlan(directory, NewCa: true, hosts);

            RefuseHalfAPair(caCertificate, caKey, "the CA cannot issue certificates without both");
            var without = new List<PkiHost>();
            foreach (var host in hosts)
            {
                var (certificate, key) = (PkiPaths.HostCertificate(directory, host.Name), PkiPaths.HostKey(directory, host.Name));
                RefuseHalfAPair(certificate, key, $"remove it to issue a new certificate for {host.Name}");
                if (!File.Exists(certificate)) without.Add(host);
            }
            return new PkiPlan(directory, NewCa: false, without);
        }

        private static void RefuseHalfAPair(string certificate, string key, string consequence)
        {
            var (present, absent) = (File.Exists(certificate), File.Exists(key)) switch
            {
                (true, false) => (certificate, key),
                (false, true) => (key, certificate),
                _ => (null, null),
            };
            if (present is null) return;
            throw new MigrationException("PkiExists", FailureKind.InvalidInput,
                $"{present} exists but {absent} does not; {consequence}. Nothing was written: " +
                "use --force (-Force) to replace the CA and every host certificate", present);
        }
    }
}
