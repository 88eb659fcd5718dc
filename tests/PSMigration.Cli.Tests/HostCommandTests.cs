namespace PSMigration.Cli.Tests;

/// <summary><c>psmig host suspend|resume</c>: the host's maintenance line in the inventory, the JSON summary, --what-if.</summary>
public class HostCommandTests
{
    [Fact]
    public void Suspend_puts_the_host_in_maintenance_and_resume_restores_the_file()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllBytes(path);

        var suspended = Cli.Run("host", "suspend", "-i", path, "--host", "KVM01", "--json");

        Assert.Equal(0, suspended.ExitCode);
        var json = suspended.Json;
        Assert.Equal(("kvm01", true, true), (json.GetProperty("host").GetString(), json.GetProperty("maintenance").GetBoolean(), json.GetProperty("changed").GetBoolean()));
        Assert.Equal(["web01", "db01"], json.GetProperty("remaining").EnumerateArray().Select(v => v.GetString()));
        var plan = Cli.Run("plan", "-i", path, "--vm", "build01", "-d", "kvm01");
        Assert.Equal(1, plan.ExitCode);
        Assert.Contains("kvm01 is in maintenance", plan.Stderr);

        var resumed = Cli.Run("host", "resume", "-i", path, "--host", "kvm01");
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("kvm01: out of maintenance; ", resumed.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void What_if_changes_nothing_and_an_unknown_host_is_a_usage_error()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllBytes(path);

        var preview = Cli.Run("host", "suspend", "-i", path, "--host", "kvm02", "--what-if");
        Assert.Equal(0, preview.ExitCode);
        Assert.Contains("(what-if: ", preview.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));

        var unknown = Cli.Run("host", "suspend", "-i", path, "--host", "kvm9");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("kvm9", unknown.Stderr);
        Assert.Equal(before, File.ReadAllBytes(path));
    }
}
