using PSMigration.Testing;

namespace PSMigration.Lab.Tests;

/// <summary>Skip where no lab can be built, fail instead under CI=true.</summary>
public sealed class LabPolicyTests
{
    [Theory]
    [InlineData(null, null, null)]
    [InlineData(null, "true", null)]
    [InlineData("not root", null, "lab unavailable: not root")]
    [InlineData("not root", "false", "lab unavailable: not root")]
    [InlineData("not root", "true", null)]
    [InlineData("not root", "TRUE", null)]
    public void Skips_with_the_reason_unless_CI_is_true(string? unavailable, string? ci, string? skip) =>
        Assert.Equal(skip, TestRequirements.SkipReason("lab unavailable", unavailable, ci));

    [Fact]
    public void Missing_tools_name_their_package() =>
        Assert.Contains("apt-get install no-such-tool-psm", TestRequirements.MissingCommands("sh", "no-such-tool-psm"));

    [Fact]
    public void The_lab_script_is_found_and_the_repo_root_is_recorded()
    {
        Assert.True(File.Exists(LabEnvironment.LabScript));
        Assert.NotNull(LabEnvironment.RepoRoot);
        Assert.True(File.Exists(Path.Combine(LabEnvironment.RepoRoot!, "tests", "lab", "lab.sh")));
    }
}
