using System.Net;
using System.Security.Cryptography.X509Certificates;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Tests.Security;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // the PKI is for Linux hosts: modes are part of it
public sealed class ClusterPkiInitializeTests : IDisposable
{
    private static readonly MigrationInventory Sample = InventoryLoader.LoadSample();
    private static readonly string[] HostFiles = ["kvm01.crt", "kvm01.key", "kvm02.crt", "kvm02.key", "kvm03.crt", "kvm03.key"];

    private readonly TempDirectory temp = new();
    private string Pki => temp.File("pki");

    public void Dispose() => temp.Dispose();

    private X509Certificate2 Certificate(string name) => X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Pki, name)));

    private Dictionary<string, byte[]> Snapshot() =>
        Directory.GetFiles(Pki).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    [Fact]
    public void Writes_the_ca_and_a_certificate_and_key_per_host_with_private_keys()
    {
        var written = ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);

        Assert.Equal(new[] { "ca.crt", "ca.key" }.Concat(HostFiles).Select(f => Path.Combine(Pki, f)), written);
        Assert.Equal(written.Order(), Directory.GetFiles(Pki).Order());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Pki));
        foreach (var file in written.Where(f => f.EndsWith(".key")))
            Assert.True(File.GetUnixFileMode(file) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), $"{file} is {File.GetUnixFileMode(file)}");
        foreach (var file in written.Where(f => f.EndsWith(".crt")))
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(file));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(Path.Combine(Pki, "kvm01.key")));
    }

    [Fact]
    public void The_ca_is_a_ten_year_ecdsa_p256_ca_that_can_only_sign_certificates()
    {
        ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);
        using var ca = Certificate("ca.crt");

        Assert.Equal(ca.Subject, ca.Issuer);
        Assert.StartsWith($"CN={CertificateAuthority.CommonNamePrefix} ", ca.Subject);
        Assert.Equal("1.2.840.10045.2.1", ca.PublicKey.Oid.Value); // id-ecPublicKey
        Assert.Equal(256, ca.GetECDsaPublicKey()!.KeySize);
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, ca.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.InRange((ca.NotAfter - DateTime.Now).TotalDays, 3650, 3654);
    }

    [Fact]
    public void Host_certificates_name_the_host_and_every_address_of_its_interfaces()
    {
        ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);
        using var ca = Certificate("ca.crt");
        using var kvm01 = Certificate("kvm01.crt");

        Assert.Equal("CN=kvm01", kvm01.Subject);
        Assert.Equal(ca.Subject, kvm01.Issuer);
        using var chain = new X509Chain { ChainPolicy = { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck } };
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        Assert.True(chain.Build(kvm01), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));

        var san = kvm01.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["kvm01"], san.EnumerateDnsNames());
        var addresses = Sample.Host("kvm01").Interfaces.SelectMany(i => i.Addresses).Select(a => a.Address).ToList();
        Assert.Equal(5, addresses.Count);
        Assert.Equal(addresses.Order(new ByText()), san.EnumerateIPAddresses().Order(new ByText()));
        Assert.Contains(IPAddress.Parse("198.51.100.11"), san.EnumerateIPAddresses());

        var usages = kvm01.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value);
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], usages);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, kvm01.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.False(kvm01.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.InRange((kvm01.NotAfter - DateTime.Now).TotalDays, 729, 732);
    }

    [Fact]
    public void A_second_run_overwrites_nothing()
    {
        ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);
        var before = Snapshot();

        Assert.Empty(ClusterPki.Plan(PkiHosts.Of(Sample), Pki));
        Assert.Empty(ClusterPki.Initialize(PkiHosts.Of(Sample), Pki));

        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void The_existing_ca_issues_certificates_for_hosts_that_have_none()
    {
        ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);
        File.Delete(Path.Combine(Pki, "kvm03.crt"));
        File.Delete(Path.Combine(Pki, "kvm03.key"));
        var before = Snapshot();

        var written = ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);

        Assert.Equal([Path.Combine(Pki, "kvm03.crt"), Path.Combine(Pki, "kvm03.key")], written);
        Assert.All(before, file => Assert.Equal(file.Value, File.ReadAllBytes(Path.Combine(Pki, file.Key))));
        using var credentials = ClusterPki.Load(Pki, "kvm03"); // checks it against the unchanged CA
        Assert.Equal("kvm03", credentials.HostName);
    }

    [Fact]
    public void A_ca_without_its_key_is_not_overwritten()
    {
        ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);
        File.Delete(Path.Combine(Pki, "ca.key"));
        File.Delete(Path.Combine(Pki, "kvm03.crt"));
        File.Delete(Path.Combine(Pki, "kvm03.key"));
        var before = Snapshot();

        var e = Assert.Throws<MigrationException>(() => ClusterPki.Initialize(PkiHosts.Of(Sample), Pki));

        Assert.Equal("PkiExists", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Contains($"{Path.Combine(Pki, "ca.crt")} exists but {Path.Combine(Pki, "ca.key")} does not", e.Message);
        Assert.Contains("--force", e.Message);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void Half_of_a_host_pair_is_not_overwritten()
    {
        ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);
        File.Delete(Path.Combine(Pki, "kvm02.key"));

        var e = Assert.Throws<MigrationException>(() => ClusterPki.Plan(PkiHosts.Of(Sample), Pki));

        Assert.Equal("PkiExists", e.ErrorId);
        Assert.Contains("kvm02.crt exists but", e.Message);
    }

    [Fact]
    public void Force_replaces_the_ca_and_every_host_certificate()
    {
        ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);
        var before = Snapshot();

        var written = ClusterPki.Initialize(PkiHosts.Of(Sample), Pki, force: true);

        Assert.Equal(8, written.Count);
        Assert.All(written, file => Assert.NotEqual(before[Path.GetFileName(file)], File.ReadAllBytes(file)));
        using var credentials = ClusterPki.Load(Pki, "kvm01");
    }

    [Theory]
    [InlineData("kvm_01", "is not a DNS name")]
    [InlineData("../etc", "is not a DNS name")]
    [InlineData("ca", "the CA's own files")]
    public void Host_names_that_cannot_be_certificate_or_file_names_are_refused_before_writing(string name, string why)
    {
        var text = InventoryLoader.SampleText().Replace("- name: kvm03", $"- name: \"{name}\"").Replace("host: kvm03", $"host: \"{name}\"");
        var inventory = InventoryLoader.Parse(text, "odd.yaml");

        var e = Assert.Throws<MigrationException>(() => ClusterPki.Initialize(PkiHosts.Of(inventory), Pki));

        Assert.Equal("PkiHostNameInvalid", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Matches($@"^odd\.yaml:\d+:\d+: host '{System.Text.RegularExpressions.Regex.Escape(name)}' cannot have a certificate", e.Message);
        Assert.Contains(why, e.Message);
        Assert.False(Directory.Exists(Pki));
    }

    [Fact]
    public void An_existing_directory_keeps_its_mode()
    {
        Directory.CreateDirectory(Pki);
        File.SetUnixFileMode(Pki, (UnixFileMode)0b111_101_101);

        ClusterPki.Initialize(PkiHosts.Of(Sample), Pki);

        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Pki));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Pki, "ca.key")));
    }

    private sealed class ByText : IComparer<IPAddress>
    {
        public int Compare(IPAddress? x, IPAddress? y) => string.CompareOrdinal(x?.ToString(), y?.ToString());
    }
}
