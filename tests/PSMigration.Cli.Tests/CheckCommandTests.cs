namespace PSMigration.Cli.Tests;

/// <summary>psmig check (Test-VMMigration for shells), --verbose and --debug, and what psmig says without an inventory.</summary>
public sealed class CheckCommandTests
{
    [Fact]
    public void A_VM_whose_destination_has_no_agent_is_not_ready_exit_1_with_the_checks_in_JSON()
    {
        var pki = Directory.CreateTempSubdirectory("psmig-check-").FullName;
        Assert.Equal(0, Cli.Run("cert", "init", "--inventory", Cli.Sample, "--out", pki).ExitCode);

        var result = Cli.Run("check", "--inventory", Cli.Sample, "--vm", "WEB01", "-d", "kvm02", "--pki", pki, "--json");

        Assert.Equal(1, result.ExitCode);
        var pair = Assert.Single(result.Json.EnumerateArray());
        Assert.Equal(("web01", "kvm01", "kvm02", false), (pair.GetProperty("vm").GetString(), pair.GetProperty("sourceHost").GetString(),
            pair.GetProperty("destinationHost").GetString(), pair.GetProperty("ready").GetBoolean()));
        var checks = pair.GetProperty("checks").EnumerateArray().ToList();
        Assert.Equal(["plan", "agent", "qemu", "memory", "source", "mtu"], checks.Select(c => c.GetProperty("name").GetString())); // not running: no convergence to predict
        Assert.True(checks[0].GetProperty("passed").GetBoolean());
        Assert.False(checks[1].GetProperty("passed").GetBoolean());
        Assert.Contains("Is the agent running on kvm02", checks[1].GetProperty("detail").GetString());
        Assert.False(pair.TryGetProperty("failed", out _)); // the table's column, not the contract
    }

    [Fact]
    public void Without_destination_it_checks_every_other_host_of_the_cluster_and_prints_a_table()
    {
        var result = Cli.Run("check", "--inventory", Cli.Sample, "--vm", "build01", "--pki", "/nonexistent");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("build01: kvm02 -> kvm01: NOT ready", result.Stdout);
        Assert.Contains("build01: kvm02 -> kvm03: NOT ready", result.Stdout);
        Assert.Contains("  agent    FAILED  ", result.Stdout);
    }

    [Fact]
    public void An_unknown_VM_is_bad_input_exit_2()
    {
        var result = Cli.Run("check", "--inventory", Cli.Sample, "--vm", "nosuchvm");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("There is no VM 'nosuchvm'", result.Stderr);
    }

    [Fact]
    public void Verbose_tells_the_plan_on_stderr_and_leaves_stdout_to_the_JSON()
    {
        var result = Cli.Run("plan", "--inventory", Cli.Sample, "--vm", "web01", "-d", "kvm03", "--json", "--verbose");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("lan", result.Json.GetProperty("network").GetString());
        Assert.Contains($"verbose: Inventory {Path.GetFullPath(Cli.Sample)}: loaded in", result.Stderr);
        Assert.Contains("verbose: Plan web01: not 'mig': not on kvm03", result.Stderr);
        Assert.DoesNotContain("verbose:", Cli.Run("plan", "--inventory", Cli.Sample, "--vm", "web01", "-d", "kvm03").Stderr);
    }

    [Fact]
    public void Without_an_inventory_it_names_the_option_and_the_variable_as_a_shell_spells_it()
    {
        var result = Cli.RunProcess(new Dictionary<string, string> { ["PSMIGRATION_INVENTORY"] = "" }, "plan", "--vm", "web01", "-d", "kvm02");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("No inventory given: pass --inventory or set $PSMIGRATION_INVENTORY", result.Stderr);
    }
}
