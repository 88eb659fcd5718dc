using System.Net;
using System.Security.Cryptography.X509Certificates;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Tests.Security;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // the PKI is for Linux hosts: modes are part of it
public sealed class ClusterPkiLoadTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private string Pki => temp.File("pki");

    public ClusterPkiLoadTests() => ClusterPki.Initialize(PkiHosts.Of(InventoryLoader.LoadSample()), Pki);

    public void Dispose() => temp.Dispose();

    private string InPki(string name) => Path.Combine(Pki, name);

    private MigrationException LoadFails(string host, string errorId)
    {
        var e = Assert.Throws<MigrationException>(() => ClusterPki.Load(Pki, host));
        Assert.Equal(errorId, e.ErrorId);
        return e;
    }

    /// <summary>Puts a certificate issued by <paramref name="ca"/> in place of kvm01's.</summary>
    private void ReplaceKvm01(CertificateAuthority ca, string host, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var certificate = ca.Issue(host, [IPAddress.Loopback], notBefore, notAfter);
        File.WriteAllText(InPki("kvm01.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(InPki("kvm01.key"), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    private CertificateAuthority ClusterCa() =>
        new(X509Certificate2.CreateFromPemFile(InPki("ca.crt"), InPki("ca.key")));

    [Fact]
    public void Loads_the_ca_and_the_hosts_certificate_with_its_key()
    {
        using var credentials = ClusterPki.Load(Pki, "kvm02");

        Assert.Equal("kvm02", credentials.HostName);
        Assert.Equal("CN=kvm02", credentials.Certificate.Subject);
        Assert.True(credentials.Certificate.HasPrivateKey);
        Assert.False(credentials.CaCertificate.HasPrivateKey);
        Assert.Equal(credentials.CaCertificate.Subject, credentials.Certificate.Issuer);
    }

    [Theory]
    [InlineData("ca.crt")]
    [InlineData("kvm02.crt")]
    [InlineData("kvm02.key")]
    public void A_missing_file_is_named_with_how_to_create_it(string name)
    {
        File.Delete(InPki(name));

        var e = LoadFails("kvm02", "PkiFileMissing");

        Assert.Equal(FailureKind.NotFound, e.Kind);
        Assert.Equal(InPki(name), e.Target);
        Assert.StartsWith($"The cluster PKI file {InPki(name)} is missing", e.Message);
        Assert.Contains("psmig cert init --inventory FILE --out DIR", e.Message);
        Assert.Contains("New-MigrationCertificate", e.Message);
    }

    [Fact]
    public void A_missing_directory_names_the_ca_file()
    {
        var e = Assert.Throws<MigrationException>(() => ClusterPki.Load(temp.File("nowhere"), "kvm01"));

        Assert.Equal("PkiFileMissing", e.ErrorId);
        Assert.Contains(Path.Combine(temp.File("nowhere"), "ca.crt"), e.Message);
    }

    [Fact]
    public void A_file_that_is_not_pem_is_unreadable()
    {
        File.WriteAllText(InPki("kvm02.crt"), "not a certificate");

        var e = LoadFails("kvm02", "PkiFileUnreadable");

        Assert.Contains($"{InPki("kvm02.crt")}: it holds no PEM certificate", e.Message);
    }

    [Fact]
    public void A_key_of_another_certificate_is_refused()
    {
        File.Copy(InPki("kvm03.key"), InPki("kvm02.key"), overwrite: true);

        var e = LoadFails("kvm02", "PkiFileUnreadable");

        Assert.Contains($"{InPki("kvm02.key")}: it holds no PEM private key of the certificate in {InPki("kvm02.crt")}", e.Message);
    }

    [Fact]
    public void A_file_that_cannot_be_read_is_unreadable()
    {
        File.Delete(InPki("kvm02.key"));
        Directory.CreateDirectory(InPki("kvm02.key")); // unreadable as a file even for root

        var e = LoadFails("kvm02", "PkiFileUnreadable");

        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.StartsWith($"Cannot read the cluster PKI file {InPki("kvm02.key")}: ", e.Message);
    }

    [Fact]
    public void A_certificate_of_another_ca_is_refused()
    {
        using var other = CertificateAuthority.Create();
        ReplaceKvm01(other, "kvm01", DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));

        var e = LoadFails("kvm01", "PkiCertificateInvalid");

        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Contains($"The certificate {InPki("kvm01.crt")} cannot be used by kvm01: certificate of 'kvm01' is not issued by the cluster CA", e.Message);
        Assert.Contains($"its issuer is '{other.Certificate.Subject}'", e.Message);
    }

    [Fact]
    public void An_expired_certificate_is_refused()
    {
        using var ca = ClusterCa();
        var notAfter = ca.Certificate.NotBefore.ToUniversalTime().AddMinutes(30);
        ReplaceKvm01(ca, "kvm01", ca.Certificate.NotBefore, notAfter);

        var e = LoadFails("kvm01", "PkiCertificateInvalid");

        Assert.Contains($"certificate of 'kvm01' expired on {notAfter:yyyy-MM-dd HH:mm:ss} UTC", e.Message);
    }

    [Fact]
    public void A_certificate_of_another_host_is_refused()
    {
        File.Copy(InPki("kvm02.crt"), InPki("kvm01.crt"), overwrite: true);
        File.Copy(InPki("kvm02.key"), InPki("kvm01.key"), overwrite: true);

        var e = LoadFails("kvm01", "PkiCertificateInvalid");

        Assert.Contains("certificate of 'kvm02' is not for 'kvm01' (it names kvm02, 192.0.2.12,", e.Message);
    }

    [Fact]
    public void A_host_name_that_is_no_file_name_is_refused()
    {
        var e = LoadFails("../kvm01", "PkiHostNameInvalid");

        Assert.Contains("'../kvm01' is not a DNS name", e.Message);
    }
}
