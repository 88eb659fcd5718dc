namespace PSMigration.Cli.Tests;

/// <summary>psmig agent refuses a confinement it cannot give before it listens: a storage root that is not there, a twin
/// user that does not exist.</summary>
public sealed class AgentCommandTests : IDisposable
{
    private readonly DirectoryInfo temp = Directory.CreateTempSubdirectory("psmig-agentcmd-");
    private string Pki => Path.Combine(temp.FullName, "pki");

    public void Dispose() => temp.Delete(recursive: true);

    [Theory]
    [InlineData("vms")]
    [InlineData("/no/such/storage")]
    public void A_storage_root_that_is_not_an_existing_absolute_folder_is_refused(string root)
    {
        var result = Agent("--storage-root", root);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"--storage-root '{root}' is not an existing absolute folder", result.Stderr);
    }

    [Fact]
    public void An_unknown_twin_user_is_refused_naming_it()
    {
        var result = Agent("--twin-user", "no-such-user-psmig");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("There is no user 'no-such-user-psmig' on this host (for --twin-user)", result.Stderr);
    }

    private Cli.Result Agent(params string[] options)
    {
        Assert.Equal(0, Cli.Run("cert", "init", "-i", Cli.Sample, "--out", Pki).ExitCode);
        return Cli.Run(["agent", "-i", Cli.Sample, "--host", "kvm02", "--pki", Pki, "--run-dir", Path.Combine(temp.FullName, "run"), .. options]);
    }
}
