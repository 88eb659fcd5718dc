using System.Text.Json;

namespace PSMigration.Cli.Tests;

public class PlanCommandTests
{
    private static readonly string[] ContractFields =
    [
        "vm", "sourceHost", "destinationHost", "network", "sourceInterface", "sourceAddress", "destinationAddress",
        "bandwidthGbps", "parallel", "connections", "compression", "postcopy", "transport", "encryption",
        "storage", "maxConcurrentOutgoing", "linkLossToleranceSeconds", "failover", "warnings", "reasons", "rejected",
    ];

    [Fact]
    public void Json_follows_the_contract()
    {
        var result = Cli.Run("plan", "--inventory", Cli.Sample, "--vm", "db01", "--destination", "kvm02", "--json");

        Assert.Equal(0, result.ExitCode);
        var plan = result.Json;
        foreach (var field in ContractFields) Assert.True(plan.TryGetProperty(field, out _), $"missing '{field}' in {result.Stdout}");
        Assert.Equal("db01", plan.GetProperty("vm").GetString());
        Assert.Equal("kvm01", plan.GetProperty("sourceHost").GetString());
        Assert.Equal("mig", plan.GetProperty("network").GetString());
        Assert.Equal("ens3f0", plan.GetProperty("sourceInterface").GetString());
        Assert.Equal("198.51.100.11", plan.GetProperty("sourceAddress").GetString());
        Assert.Equal("198.51.100.12", plan.GetProperty("destinationAddress").GetString());
        Assert.Equal(10, plan.GetProperty("bandwidthGbps").GetDouble());
        Assert.True(plan.GetProperty("parallel").GetBoolean());
        Assert.Equal(4, plan.GetProperty("connections").GetInt32());
        Assert.Equal("none", plan.GetProperty("compression").GetString());
        Assert.Equal("direct", plan.GetProperty("transport").GetString());
        Assert.Equal("tls", plan.GetProperty("encryption").GetString());
        Assert.Equal("shared", plan.GetProperty("storage").GetString());
        Assert.Equal(1, plan.GetProperty("maxConcurrentOutgoing").GetInt32());
        Assert.Equal(30, plan.GetProperty("linkLossToleranceSeconds").GetInt32()); // the sample sets none: the default
        Assert.Empty(plan.GetProperty("failover").EnumerateArray()); // transport direct: QEMU's own connections do not move
        var rejected = plan.GetProperty("rejected").EnumerateArray().ToList();
        Assert.Equal(["lan", "corosync", "iscsi-a", "iscsi-b"], rejected.Select(r => r.GetProperty("network").GetString()));
        Assert.All(rejected, r => Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("reason").GetString())));
        Assert.NotEmpty(plan.GetProperty("reasons").EnumerateArray());
    }

    [Fact]
    public void Json_failover_lists_each_path_with_both_ends_in_order()
    {
        var result = Cli.Run("plan", "-i", EngineSample(), "--vm", "web01", "-d", "kvm02", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var path = Assert.Single(result.Json.GetProperty("failover").EnumerateArray().ToList());
        Assert.Equal(["network", "sourceInterface", "sourceAddress", "destinationInterface", "destinationAddress", "bandwidthGbps"],
            path.EnumerateObject().Select(p => p.Name));
        Assert.Equal("lan", path.GetProperty("network").GetString());
        Assert.Equal("bond0", path.GetProperty("sourceInterface").GetString());
        Assert.Equal("192.0.2.11", path.GetProperty("sourceAddress").GetString());
        Assert.Equal("bond0", path.GetProperty("destinationInterface").GetString());
        Assert.Equal("192.0.2.12", path.GetProperty("destinationAddress").GetString());
        Assert.Equal(2, path.GetProperty("bandwidthGbps").GetDouble());
        Assert.Contains("If a connection on 'mig' fails, the engine carries on over 'lan'.",
            result.Json.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public void Text_output_says_in_one_line_which_networks_take_over()
    {
        var engine = Cli.Run("plan", "-i", EngineSample(), "--vm", "web01", "-d", "kvm03");
        var direct = Cli.Run("plan", "-i", Cli.Sample, "--vm", "web01", "-d", "kvm02");

        Assert.Contains("    - If a connection on 'lan' fails, no other shared network is open to migrations: no failover.", engine.Stdout);
        Assert.Contains("    - Transport direct (from cluster 'prod'): QEMU's own connections cannot move to another network: no failover.", direct.Stdout);
    }

    /// <summary>The sample with prod's transport engine: the one that fails over.</summary>
    private static string EngineSample() =>
        Cli.TempInventory(File.ReadAllText(Cli.Sample).Replace("      transport: direct", "      transport: engine", StringComparison.Ordinal));

    [Fact]
    public void Fallback_to_the_lan_says_why_the_migration_network_was_not_used()
    {
        var result = Cli.Run("plan", "-i", Cli.Sample, "--vm", "web01", "-d", "kvm03", "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("lan", result.Json.GetProperty("network").GetString());
        Assert.Equal(2, result.Json.GetProperty("bandwidthGbps").GetDouble());
        var mig = result.Json.GetProperty("rejected").EnumerateArray().Single(r => r.GetProperty("network").GetString() == "mig");
        Assert.Contains("not on kvm03", mig.GetProperty("reason").GetString());
    }

    [Fact]
    public void Text_output_shows_decision_reasons_and_rejections()
    {
        var result = Cli.Run("plan", "-i", Cli.Sample, "--vm", "web01", "-d", "kvm02");

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("web01: kvm01 -> kvm02 over 'mig'", result.Stdout);
        Assert.Contains("why:", result.Stdout);
        Assert.Contains("iscsi-a   storage network", result.Stdout);
    }

    [Fact]
    public void Malformed_inventory_exits_2_with_file_line_and_column()
    {
        var text = File.ReadAllText(Cli.Sample).Replace("    cpuThreads: 16", "    cpuThread: 16");
        var path = Cli.TempInventory(text);
        var line = text.Split('\n').ToList().FindIndex(l => l.Contains("cpuThread: 16")) + 1;

        var result = Cli.Run("plan", "-i", path, "--vm", "web01", "-d", "kvm02", "--json");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Contains($"{path}:{line}:5: unknown key 'cpuThread' in host 'kvm03'; did you mean 'cpuThreads'?", result.Stderr);
        Assert.Contains($"{path}:", result.Stderr);
    }

    [Fact]
    public void Unknown_names_exit_2_with_a_suggestion()
    {
        var result = Cli.Run("plan", "-i", Cli.Sample, "--vm", "web1", "-d", "kvm02");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("There is no VM 'web1'", result.Stderr);
        Assert.Contains("did you mean 'web01'?", result.Stderr);
    }

    [Fact]
    public void No_usable_network_exits_1_listing_every_network()
    {
        // kvm03 has no migration network and its LAN bond is down: only storage and cluster links remain.
        var text = File.ReadAllText(Cli.Sample).Replace(
            "        addresses: [192.0.2.13/24]\n        speedGbps: 1\n",
            "        addresses: [192.0.2.13/24]\n        speedGbps: 1\n        state: down\n");
        var result = Cli.Run("plan", "-i", Cli.TempInventory(text), "--vm", "web01", "-d", "kvm03");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No network can carry a migration from kvm01 to kvm03", result.Stderr);
        foreach (var network in new[] { "lan: interface bond0 on kvm03 is down", "corosync:", "iscsi-a:", "iscsi-b:", "mig: not on kvm03" })
            Assert.Contains(network, result.Stderr);
    }

    [Fact]
    public void Missing_required_option_is_a_usage_error()
    {
        var result = Cli.Run("plan", "-i", Cli.Sample, "--vm", "web01");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--destination", result.Stderr);
    }

    [Fact]
    public void Real_process_uses_the_environment_inventory_and_keeps_stdout_pure_json()
    {
        var text = File.ReadAllText(Cli.Sample).Replace("parallel: Custom, connections: 4,", "connections: 4,");
        var path = Cli.TempInventory(text); // db01 now writes connections without Custom: a warning

        var result = Cli.RunProcess(new Dictionary<string, string> { ["PSMIGRATION_INVENTORY"] = path },
            "plan", "--vm", "db01", "--destination", "kvm02", "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("kvm02", JsonDocument.Parse(result.Stdout).RootElement.GetProperty("destinationHost").GetString());
        Assert.Contains("warning:", result.Stderr);
        Assert.Contains("connections: 4 is ignored", result.Stderr);
    }

    [Fact]
    public void Real_process_exit_codes()
    {
        Assert.Equal(2, Cli.RunProcess(null, "plan", "--inventory", "/nonexistent/inventory.yaml", "--vm", "a", "-d", "b").ExitCode);
        Assert.Equal(2, Cli.RunProcess(null, "no-such-verb").ExitCode);
        Assert.Equal(0, Cli.RunProcess(null, "plan", "--inventory", Cli.Sample, "--vm", "web01", "-d", "kvm02", "--json").ExitCode);
    }

    [Fact]
    public void From_host_plans_the_drain_as_JSON_and_a_VM_that_fits_nowhere_fails_it()
    {
        // kvm02 has room for db01 (64 GiB) but not web01 as well; kvm03 declares no memory
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample)
            .Replace("  - name: kvm02\n", "  - name: kvm02\n    memoryMiB: 98304\n    reservedMemoryMiB: 8192\n"));

        var result = Cli.Run("plan", "-i", path, "--from-host", "kvm01", "-d", "kvm02", "--json");

        Assert.Equal(1, result.ExitCode); // web01 cannot move within kvm02
        var drain = result.Json;
        Assert.Equal("kvm01", drain.GetProperty("host").GetString());
        var plan = Assert.Single(drain.GetProperty("plans").EnumerateArray().ToList());
        Assert.Equal(("db01", "kvm02", 1), (plan.GetProperty("vm").GetString(), plan.GetProperty("destinationHost").GetString(), plan.GetProperty("order").GetInt32()));
        Assert.True(plan.GetProperty("predictedSeconds").GetDouble() > 0);
        Assert.Equal(0, plan.GetProperty("startsAtSeconds").GetDouble());
        var unplaced = Assert.Single(drain.GetProperty("unplaced").EnumerateArray().ToList());
        Assert.Equal("web01", unplaced.GetProperty("vm").GetString());
        Assert.Contains("kvm02 has 16384 MiB left, web01 needs 32768 MiB", unplaced.GetProperty("reason").GetString());
        Assert.Contains("kvm03 takes no VM: not among the destinations asked for.", drain.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));

        var everywhere = Cli.Run("plan", "-i", path, "--from-host", "kvm01");
        Assert.Equal(0, everywhere.ExitCode);
        Assert.Contains("drain of kvm01: 2 move(s), predicted ", everywhere.Stdout);
        Assert.Contains(" 1. db01 -> kvm02 over 'mig'", everywhere.Stdout);
        Assert.Contains("kvm03 declares no memoryMiB: what fits there is not checked.", everywhere.Stdout);
    }

    [Fact]
    public void From_host_with_a_vm_or_a_plan_without_a_destination_is_a_usage_error()
    {
        var both = Cli.Run("plan", "-i", Cli.Sample, "--from-host", "kvm01", "--vm", "web01");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--from-host plans every VM of the host", both.Stderr);

        var none = Cli.Run("plan", "-i", Cli.Sample, "--vm", "web01");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("give --vm and one --destination", none.Stderr);
    }
}
