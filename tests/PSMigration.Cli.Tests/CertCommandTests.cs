using System.Runtime.Versioning;
using System.Security.Cryptography.X509Certificates;

namespace PSMigration.Cli.Tests;

[UnsupportedOSPlatform("windows")] // the PKI is for Linux hosts: file modes are part of it
public sealed class CertCommandTests : IDisposable
{
    private static readonly string[] Written =
        ["ca.crt", "ca.key", "kvm01.crt", "kvm01.key", "kvm02.crt", "kvm02.key", "kvm03.crt", "kvm03.key"];

    private readonly DirectoryInfo temp = Directory.CreateTempSubdirectory("psmig-cert-");
    private string Pki => Path.Combine(temp.FullName, "pki");

    public void Dispose() => temp.Delete(recursive: true);

    [Fact]
    public void Init_writes_the_pki_and_prints_the_files_as_json()
    {
        var result = Cli.Run("cert", "init", "--inventory", Cli.Sample, "--out", Pki, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Stderr);
        Assert.Equal(["directory", "files"], result.Json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(Pki, result.Json.GetProperty("directory").GetString());
        var files = result.Json.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToList();
        Assert.Equal(Written.Select(f => Path.Combine(Pki, f)), files);
        Assert.All(files, f => Assert.True(File.Exists(f), $"{f} was not written"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Pki, "kvm02.key")));
        using var kvm02 = X509Certificate2.CreateFromPemFile(Path.Combine(Pki, "kvm02.crt"), Path.Combine(Pki, "kvm02.key"));
        Assert.Equal("CN=kvm02", kvm02.Subject);
    }

    [Fact]
    public void Init_prints_the_files_and_what_to_do_with_them()
    {
        var result = Cli.Run("cert", "init", "-i", Cli.Sample, "--out", Pki);

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith($"Wrote 8 files to {Pki}:", result.Stdout);
        Assert.Contains("  kvm03.key", result.Stdout);
        Assert.Contains("/etc/psmigration/pki", result.Stdout);
    }

    [Fact]
    public void A_second_init_overwrites_nothing_and_says_so()
    {
        Assert.Equal(0, Cli.Run("cert", "init", "-i", Cli.Sample, "--out", Pki).ExitCode);
        var ca = File.ReadAllBytes(Path.Combine(Pki, "ca.crt"));

        var result = Cli.Run("cert", "init", "-i", Cli.Sample, "--out", Pki, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Empty(result.Json.GetProperty("files").EnumerateArray());
        Assert.Equal(ca, File.ReadAllBytes(Path.Combine(Pki, "ca.crt")));
        Assert.StartsWith("Nothing to do:", Cli.Run("cert", "init", "-i", Cli.Sample, "--out", Pki).Stdout);
    }

    [Fact]
    public void A_ca_without_its_key_exits_2_unless_forced()
    {
        Assert.Equal(0, Cli.Run("cert", "init", "-i", Cli.Sample, "--out", Pki).ExitCode);
        File.Delete(Path.Combine(Pki, "ca.key"));
        var ca = File.ReadAllBytes(Path.Combine(Pki, "ca.crt"));

        var refused = Cli.Run("cert", "init", "-i", Cli.Sample, "--out", Pki, "--json");

        Assert.Equal(2, refused.ExitCode);
        Assert.Equal("", refused.Stdout);
        Assert.Contains($"psmig: {Path.Combine(Pki, "ca.crt")} exists but {Path.Combine(Pki, "ca.key")} does not", refused.Stderr);
        Assert.Equal(ca, File.ReadAllBytes(Path.Combine(Pki, "ca.crt")));

        var forced = Cli.Run("cert", "init", "-i", Cli.Sample, "--out", Pki, "--force", "--json");

        Assert.Equal(0, forced.ExitCode);
        Assert.Equal(8, forced.Json.GetProperty("files").GetArrayLength());
        Assert.NotEqual(ca, File.ReadAllBytes(Path.Combine(Pki, "ca.crt")));
    }

    [Fact]
    public void The_output_directory_is_required()
    {
        var result = Cli.Run("cert", "init", "-i", Cli.Sample);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--out", result.Stderr);
        Assert.False(Directory.Exists(Pki));
    }

    [Fact]
    public void A_broken_inventory_exits_2_and_writes_nothing()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample).Replace("    cpuThreads: 16", "    cpuThread: 16"));

        var result = Cli.Run("cert", "init", "-i", path, "--out", Pki);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{path}:", result.Stderr);
        Assert.False(Directory.Exists(Pki));
    }
}
