using System.Text.Json;

namespace PSMigration.Cli.Tests;

public class PolicyCommandTests
{
    [Fact]
    public void Get_shows_effective_values_and_their_sources()
    {
        var result = Cli.Run("policy", "get", "-i", Cli.Sample, "--vm", "db01", "--json");

        Assert.Equal(0, result.ExitCode);
        var policy = result.Json;
        Assert.Equal("Custom", policy.GetProperty("parallel").GetString());
        Assert.Equal(4, policy.GetProperty("connections").GetInt32());
        Assert.Equal(500, policy.GetProperty("maxDowntimeMs").GetInt32());
        Assert.Equal("tls", policy.GetProperty("encryption").GetString());
        var sources = policy.GetProperty("sources");
        Assert.Equal("VM 'db01'", sources.GetProperty("parallel").GetString());
        Assert.Equal("cluster 'prod'", sources.GetProperty("encryption").GetString());
        Assert.Equal("default", sources.GetProperty("bandwidthGbps").GetString());
    }

    [Fact]
    public void Set_changes_only_the_target_block()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllLines(path);

        var result = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--parallel", "custom", "--connections", "8", "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Custom", result.Json.GetProperty("parallel").GetString());
        Assert.Equal(8, result.Json.GetProperty("connections").GetInt32());
        var after = File.ReadAllLines(path);
        var changed = after.Where(l => !before.Contains(l)).ToList();
        Assert.Equal(["      parallel: Custom", "      connections: 8"], changed);
        Assert.Equal(["      parallel: Auto"], before.Where(l => !after.Contains(l)));
    }

    [Fact]
    public void Storage_copy_set_on_a_cluster_shows_in_policy_get_and_in_the_plan()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));

        var set = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--storage", "copy");

        Assert.True(set.ExitCode == 0, set.Stderr);
        Assert.Contains("storage: shared (default) -> copy (cluster 'prod')", set.Stdout);
        Assert.Contains("      storage: copy", File.ReadAllLines(path));

        var get = Cli.Run("policy", "get", "-i", path, "--vm", "web01", "--json");
        Assert.Equal(0, get.ExitCode);
        Assert.Equal("copy", get.Json.GetProperty("storage").GetString());
        Assert.Equal("cluster 'prod'", get.Json.GetProperty("sources").GetProperty("storage").GetString());

        var text = Cli.Run("policy", "get", "-i", path, "--cluster", "prod");
        Assert.Matches(@"\n  storage +copy +\(cluster 'prod'\)", text.Stdout);

        var plan = Cli.Run("plan", "-i", path, "--vm", "web01", "-d", "kvm02", "--json");
        Assert.Equal(0, plan.ExitCode);
        Assert.Equal("copy", plan.Json.GetProperty("storage").GetString());
        Assert.Contains(plan.Json.GetProperty("reasons").EnumerateArray(),
            r => r.GetString() == "storage: copy (from cluster 'prod'): the VM's writable local disks are copied to kvm02 before its memory.");
    }

    [Fact]
    public void Max_concurrent_incoming_set_on_a_cluster_shows_in_policy_get_with_its_source()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllBytes(path);

        var set = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--max-concurrent-incoming", "3");

        Assert.True(set.ExitCode == 0, set.Stderr);
        Assert.Contains("maxConcurrentIncoming: (none) (default) -> 3 (cluster 'prod')", set.Stdout);
        Assert.Contains("      maxConcurrentIncoming: 3", File.ReadAllLines(path));

        var get = Cli.Run("policy", "get", "-i", path, "--vm", "web01", "--json");
        Assert.Equal(0, get.ExitCode);
        Assert.Equal(3, get.Json.GetProperty("maxConcurrentIncoming").GetInt32());
        Assert.Equal("cluster 'prod'", get.Json.GetProperty("sources").GetProperty("maxConcurrentIncoming").GetString());

        var text = Cli.Run("policy", "get", "-i", path, "--cluster", "prod");
        Assert.Matches(@"\n  maxConcurrentIncoming +3 +\(cluster 'prod'\)", text.Stdout);
        Assert.Matches(@"\n  parallel +Auto", text.Stdout); // the other keys still line up with the longest

        var cleared = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--clear", "maxConcurrentIncoming");
        Assert.True(cleared.ExitCode == 0, cleared.Stderr);
        Assert.Equal(before, File.ReadAllBytes(path));
        var unset = Cli.Run("policy", "get", "-i", path, "--vm", "web01", "--json");
        Assert.Equal(JsonValueKind.Null, unset.Json.GetProperty("maxConcurrentIncoming").ValueKind); // no limit
        Assert.Equal("default", unset.Json.GetProperty("sources").GetProperty("maxConcurrentIncoming").GetString());
    }

    [Fact]
    public void Max_concurrent_incoming_below_1_is_rejected_and_leaves_the_file()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var bytes = File.ReadAllBytes(path);

        var result = Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--max-concurrent-incoming", "0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'maxConcurrentIncoming' of the migration policy of VM 'web01' must be at least 1, not 0", result.Stderr);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void Convergence_flags_with_what_if_show_each_change_and_write_nothing()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var bytes = File.ReadAllBytes(path);

        var result = Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--auto-converge", "true", "--timeout-action", "pause",
            "--completion-timeout-per-gib", "20", "--progress-timeout", "60", "--what-if");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("What if: would change the policy of VM 'web01'", result.Stdout);
        Assert.Contains("autoConverge: false (default) -> true (VM 'web01')", result.Stdout);
        Assert.Contains("timeoutAction: cancel (default) -> pause (VM 'web01')", result.Stdout);
        Assert.Contains("completionTimeoutPerGiB: (none) (default) -> 20 (VM 'web01')", result.Stdout);
        Assert.Contains("progressTimeout: (none) (default) -> 60 (VM 'web01')", result.Stdout);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void Convergence_flags_are_written_and_shown_by_policy_get_with_their_sources()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllBytes(path);

        var set = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--auto-converge", "true", "--timeout-action", "Pause",
            "--completion-timeout-per-gib", "20", "--progress-timeout", "60", "--json");

        Assert.True(set.ExitCode == 0, set.Stderr);
        Assert.True(set.Json.GetProperty("autoConverge").GetBoolean());
        Assert.Equal("pause", set.Json.GetProperty("timeoutAction").GetString());
        var lines = File.ReadAllLines(path);
        foreach (var line in new[] { "      autoConverge: true", "      timeoutAction: pause", "      completionTimeoutPerGiB: 20", "      progressTimeout: 60" })
            Assert.Contains(line, lines);

        var get = Cli.Run("policy", "get", "-i", path, "--vm", "web01", "--json");
        Assert.Equal(0, get.ExitCode);
        Assert.True(get.Json.GetProperty("autoConverge").GetBoolean());
        Assert.Equal("pause", get.Json.GetProperty("timeoutAction").GetString());
        Assert.Equal(20, get.Json.GetProperty("completionTimeoutPerGiB").GetInt32());
        Assert.Equal(60, get.Json.GetProperty("progressTimeout").GetInt32());
        Assert.Equal("cluster 'prod'", get.Json.GetProperty("sources").GetProperty("timeoutAction").GetString());

        var text = Cli.Run("policy", "get", "-i", path, "--cluster", "prod");
        Assert.Matches(@"\n  completionTimeoutPerGiB +20 +\(cluster 'prod'\)", text.Stdout);
        Assert.Matches(@"\n  timeoutAction +pause +\(cluster 'prod'\)", text.Stdout);

        var plan = Cli.Run("plan", "-i", path, "--vm", "web01", "-d", "kvm02");
        Assert.Contains("  converging   autoConverge on, timeoutAction pause, completionTimeoutPerGiB 20 s, progressTimeout 60 s, linkLossToleranceSeconds 30\n", plan.Stdout.ReplaceLineEndings("\n"));

        var off = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--auto-converge", "false");
        Assert.True(off.ExitCode == 0, off.Stderr);
        Assert.Contains("autoConverge: true (cluster 'prod') -> false (cluster 'prod')", off.Stdout);

        var cleared = Cli.Run("policy", "set", "-i", path, "--cluster", "prod",
            "--clear", "autoConverge", "--clear", "timeoutAction", "--clear", "completionTimeoutPerGiB", "--clear", "progressTimeout");
        Assert.True(cleared.ExitCode == 0, cleared.Stderr);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Timeout_action_postcopy_needs_postcopy_true_and_is_refused_without_it()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var bytes = File.ReadAllBytes(path);

        var refused = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--timeout-action", "postcopy");

        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("timeoutAction: postcopy needs postcopy: true", refused.Stderr);
        Assert.Contains("(timeoutAction from cluster 'prod', postcopy from cluster 'prod')", refused.Stderr);
        Assert.Equal(bytes, File.ReadAllBytes(path));

        var together = Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--postcopy", "true", "--timeout-action", "postcopy", "--json");
        Assert.True(together.ExitCode == 0, together.Stderr);
        Assert.Equal("postcopy", together.Json.GetProperty("timeoutAction").GetString());
        Assert.True(together.Json.GetProperty("postcopy").GetBoolean());
    }

    [Fact]
    public void A_misspelt_timeout_action_is_bad_input_with_a_suggestion()
    {
        var result = Cli.Run("policy", "set", "-i", Cli.Sample, "--cluster", "prod", "--timeout-action", "pasue");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--timeout-action must be one of cancel, postcopy, pause, not 'pasue'; did you mean 'pause'?", result.Stderr);
    }

    [Fact]
    public void Link_loss_tolerance_is_30_by_default_set_on_a_cluster_overridden_by_a_vm_and_in_the_plan()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllBytes(path);

        var unset = Cli.Run("policy", "get", "-i", path, "--vm", "web01", "--json");
        Assert.Equal(30, unset.Json.GetProperty("linkLossToleranceSeconds").GetInt32());
        Assert.Equal("default", unset.Json.GetProperty("sources").GetProperty("linkLossToleranceSeconds").GetString());

        var whatIf = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--link-loss-tolerance-seconds", "120", "--what-if");
        Assert.True(whatIf.ExitCode == 0, whatIf.Stderr);
        Assert.Contains("linkLossToleranceSeconds: 30 (default) -> 120 (cluster 'prod')", whatIf.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));

        var set = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--link-loss-tolerance-seconds", "120");
        Assert.True(set.ExitCode == 0, set.Stderr);
        Assert.Contains("      linkLossToleranceSeconds: 120", File.ReadAllLines(path));
        var text = Cli.Run("policy", "get", "-i", path, "--vm", "web01");
        Assert.Matches(@"\n  linkLossToleranceSeconds +120 +\(cluster 'prod'\)", text.Stdout);
        Assert.Matches(@"\n  parallel {17}Auto ", text.Stdout); // padded to the longest key, linkLossToleranceSeconds
        var plan = Cli.Run("plan", "-i", path, "--vm", "web01", "-d", "kvm02", "--json");
        Assert.Equal(120, plan.Json.GetProperty("linkLossToleranceSeconds").GetInt32());

        var vm = Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--link-loss-tolerance-seconds", "10", "--json");
        Assert.True(vm.ExitCode == 0, vm.Stderr);
        Assert.Equal(10, vm.Json.GetProperty("linkLossToleranceSeconds").GetInt32());
        Assert.Equal("VM 'web01'", vm.Json.GetProperty("sources").GetProperty("linkLossToleranceSeconds").GetString());
        var vmPlan = Cli.Run("plan", "-i", path, "--vm", "web01", "-d", "kvm02");
        Assert.Contains(", linkLossToleranceSeconds 10", vmPlan.Stdout);
        Assert.Contains("linkLossToleranceSeconds 10 (from VM 'web01'): without a working path to kvm02 for longer, the migration gives up", vmPlan.Stdout);
        var cluster = Cli.Run("policy", "get", "-i", path, "--cluster", "prod", "--json");
        Assert.Equal(120, cluster.Json.GetProperty("linkLossToleranceSeconds").GetInt32());

        Assert.True(Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--clear", "linkLossToleranceSeconds").ExitCode == 0);
        Assert.True(Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--clear", "linkLossToleranceSeconds").ExitCode == 0);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Networks_are_set_on_a_cluster_replaced_by_a_vms_and_order_the_plans_failover()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllBytes(path);

        var unset = Cli.Run("policy", "get", "-i", path, "--vm", "web01", "--json");
        Assert.Equal(JsonValueKind.Null, unset.Json.GetProperty("networks").ValueKind);
        Assert.Equal("default", unset.Json.GetProperty("sources").GetProperty("networks").GetString());

        var whatIf = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--networks", "mig, ISCSI-A,lan", "--what-if");
        Assert.True(whatIf.ExitCode == 0, whatIf.Stderr);
        Assert.Contains("networks: (none) (default) -> [mig, iscsi-a, lan] (cluster 'prod')", whatIf.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));

        var set = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--networks", "mig,iscsi-a,lan", "--transport", "engine");
        Assert.True(set.ExitCode == 0, set.Stderr);
        Assert.Contains("      networks: [mig, iscsi-a, lan]", File.ReadAllLines(path));
        var text = Cli.Run("policy", "get", "-i", path, "--vm", "web01");
        Assert.Matches(@"\n  networks +\[mig, iscsi-a, lan\] +\(cluster 'prod'\)", text.Stdout);

        var plan = Cli.Run("plan", "-i", path, "--vm", "web01", "-d", "kvm02", "--json");
        Assert.True(plan.ExitCode == 0, plan.Stderr);
        Assert.Equal("mig", plan.Json.GetProperty("network").GetString());
        Assert.Equal(["iscsi-a", "lan"], plan.Json.GetProperty("failover").EnumerateArray().Select(p => p.GetProperty("network").GetString()));
        Assert.Contains("If a connection on 'mig' fails, the engine carries on over 'iscsi-a', then 'lan', in the order of networks (from cluster 'prod').",
            plan.Json.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        Assert.Contains(plan.Json.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.StartsWith("'iscsi-a' is a storage network that is closed", StringComparison.Ordinal));
        Assert.Contains("warning: 'iscsi-a' is a storage network", plan.Stderr);

        var toKvm03 = Cli.Run("plan", "-i", path, "--vm", "web01", "-d", "kvm03");
        Assert.Equal(1, toKvm03.ExitCode);
        Assert.Contains("Network 'mig', the first of networks (from cluster 'prod' at ", toKvm03.Stderr);
        Assert.Contains("), cannot carry a migration from kvm01 to kvm03: not on kvm03", toKvm03.Stderr);

        var vm = Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--networks", "lan", "--json");
        Assert.True(vm.ExitCode == 0, vm.Stderr);
        Assert.Equal(["lan"], vm.Json.GetProperty("networks").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal("VM 'web01'", vm.Json.GetProperty("sources").GetProperty("networks").GetString());
        var vmPlan = Cli.Run("plan", "-i", path, "--vm", "web01", "-d", "kvm03", "--json");
        Assert.Equal("lan", vmPlan.Json.GetProperty("network").GetString());
        Assert.Empty(vmPlan.Json.GetProperty("failover").EnumerateArray());

        Assert.True(Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--clear", "networks").ExitCode == 0);
        Assert.True(Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--clear", "networks", "--transport", "direct").ExitCode == 0);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Stripe_is_false_by_default_set_on_a_cluster_overridden_by_a_vm_and_cleared_back_to_the_same_bytes()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllBytes(path);

        var unset = Cli.Run("policy", "get", "-i", path, "--vm", "web01", "--json");
        Assert.False(unset.Json.GetProperty("stripe").GetBoolean());
        Assert.Equal("default", unset.Json.GetProperty("sources").GetProperty("stripe").GetString());

        var whatIf = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--stripe", "true", "--what-if");
        Assert.True(whatIf.ExitCode == 0, whatIf.Stderr);
        Assert.Contains("stripe: false (default) -> true (cluster 'prod')", whatIf.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));

        var set = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--stripe", "true");
        Assert.True(set.ExitCode == 0, set.Stderr);
        Assert.Contains("      stripe: true", File.ReadAllLines(path));
        var text = Cli.Run("policy", "get", "-i", path, "--vm", "web01");
        Assert.Matches(@"\n  stripe +true +\(cluster 'prod'\)", text.Stdout);

        var vm = Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--stripe", "false", "--json");
        Assert.True(vm.ExitCode == 0, vm.Stderr);
        Assert.False(vm.Json.GetProperty("stripe").GetBoolean());
        Assert.Equal("VM 'web01'", vm.Json.GetProperty("sources").GetProperty("stripe").GetString());
        var cluster = Cli.Run("policy", "get", "-i", path, "--cluster", "prod", "--json");
        Assert.True(cluster.Json.GetProperty("stripe").GetBoolean());

        Assert.True(Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--clear", "stripe").ExitCode == 0);
        Assert.True(Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--clear", "stripe").ExitCode == 0);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_stripe_that_is_not_true_or_false_is_bad_input_and_leaves_the_file()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllBytes(path);

        var result = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--stripe", "maybe");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unrecognized command or argument 'maybe'", result.Stderr); // --stripe takes true, false or nothing (true)
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("mig,mgi", "'networks' of the migration policy of cluster 'prod' names network 'mgi', which is not in networks (known: lan, corosync, iscsi-a, iscsi-b, mig); did you mean 'mig'?")]
    [InlineData("lan,mig,lan", "'networks' of the migration policy of cluster 'prod' names network 'lan' twice")]
    [InlineData(",", "'networks' of the migration policy of cluster 'prod' must name at least one network")]
    public void Bad_networks_are_rejected_and_leave_the_file(string value, string message)
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var before = File.ReadAllBytes(path);

        var result = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--networks", value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("--completion-timeout-per-gib", "0", "'completionTimeoutPerGiB' of the migration policy of cluster 'prod' must be at least 1, not 0")]
    [InlineData("--progress-timeout", "86401", "'progressTimeout' of the migration policy of cluster 'prod' must be at most 86400, not 86401")]
    [InlineData("--link-loss-tolerance-seconds", "0", "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be at least 1, not 0")]
    [InlineData("--link-loss-tolerance-seconds", "3601", "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be at most 3600, not 3601")]
    public void Convergence_seconds_out_of_range_are_rejected_and_leave_the_file(string option, string value, string message)
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var bytes = File.ReadAllBytes(path);

        var result = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_bad_storage_value_is_bad_input_with_a_suggestion()
    {
        var result = Cli.Run("policy", "set", "-i", Cli.Sample, "--cluster", "prod", "--storage", "coppy");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--storage must be one of shared, copy, not 'coppy'; did you mean 'copy'?", result.Stderr);
    }

    [Fact]
    public void What_if_prints_the_diff_and_writes_nothing()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var bytes = File.ReadAllBytes(path);

        var result = Cli.Run("policy", "set", "-i", path, "--vm", "web01", "--compression", "zstd", "--what-if");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("What if: would change the policy of VM 'web01'", result.Stdout);
        Assert.Contains("compression: none (cluster 'prod') -> zstd (VM 'web01')", result.Stdout);
        Assert.Contains("+", result.Stdout);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void Rejected_change_exits_2_and_leaves_the_file()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        var bytes = File.ReadAllBytes(path);

        var result = Cli.Run("policy", "set", "-i", path, "--cluster", "prod", "--parallel", "Parallel", "--postcopy", "true");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rejected", result.Stderr);
        Assert.Contains("postcopy: true cannot be combined with parallel: Parallel", result.Stderr);
        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!), f => !f.EndsWith(".lock", StringComparison.Ordinal));
    }

    [Fact]
    public void Usage_errors_exit_2()
    {
        Assert.Equal(2, Cli.Run("policy", "set", "-i", Cli.Sample, "--cluster", "prod").ExitCode); // nothing to change
        Assert.Equal(2, Cli.Run("policy", "get", "-i", Cli.Sample).ExitCode); // no target
        Assert.Equal(2, Cli.Run("policy", "get", "-i", Cli.Sample, "--cluster", "prod", "--vm", "db01").ExitCode);
        var bad = Cli.Run("policy", "set", "-i", Cli.Sample, "--cluster", "prod", "--compression", "lz4");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--compression must be one of none, zlib, zstd, xbzrle", bad.Stderr);
    }

    [Fact]
    public async Task Policy_edits_from_separate_processes_at_once_all_land()
    {
        // three VMs and the cluster, each set by its own psmig process at the same moment
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        string[][] edits =
        [
            ["--vm", "web01", "--parallel", "Custom", "--connections", "4"], ["--vm", "db01", "--parallel", "Custom", "--connections", "6"],
            ["--vm", "build01", "--max-downtime-ms", "400"],
            ["--cluster", "prod", "--max-downtime-ms", "250"],
        ];

        var runs = await Task.WhenAll(edits.Select(edit => Task.Run(() => Cli.RunProcess(null, ["policy", "set", "-i", path, .. edit]))));

        Assert.All(runs, run => Assert.True(run.ExitCode == 0, run.Stderr));
        var inventory = PSMigration.Core.Inventory.InventoryLoader.Load(path);
        Assert.Equal((4, 6, 400), (inventory.VmPolicy("web01").Connections, inventory.VmPolicy("db01").Connections, inventory.VmPolicy("build01").MaxDowntimeMs));
        Assert.Equal(250, inventory.ClusterPolicy("prod").MaxDowntimeMs);
    }

    [Fact]
    public async Task A_psmig_process_waits_while_another_process_holds_the_inventorys_lock()
    {
        var path = Cli.TempInventory(File.ReadAllText(Cli.Sample));
        Task<Cli.Result> edit;
        using (new FileStream(Path.Combine(Path.GetDirectoryName(path)!, ".inventory.yaml.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            edit = Task.Run(() => Cli.RunProcess(null, "policy", "set", "-i", path, "--vm", "web01", "--max-downtime-ms", "275"));
            await Task.Delay(3000); // time enough for dotnet to start psmig and psmig to reach the lock
            Assert.False(edit.IsCompleted, "psmig edited the inventory while this process held its lock");
        }
        var run = await edit.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(275, PSMigration.Core.Inventory.InventoryLoader.Load(path).VmPolicy("web01").MaxDowntimeMs);
    }
}
