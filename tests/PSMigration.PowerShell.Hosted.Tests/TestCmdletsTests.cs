using PSMigration.Engine.NetworkTest;
using PSMigration.Qemu.Readiness;
using PSMigration.Qemu.Tests;

namespace PSMigration.Hosted.Tests;

/// <summary>
/// Test-MigrationNetwork and Test-VMMigration in PowerShell against the real agent of "right" and real QEMU
/// guests on "left": what they measure and check, -Quiet's booleans, and the default views and CSV of
/// their objects.
/// </summary>
[Collection(QemuLabCollection.Name)]
public sealed class TestCmdletsTests(QemuLab lab)
{
    private const string Policy = "{ parallel: Custom, connections: 2, transport: engine, encryption: tls }";

    [QemuFact]
    public async Task Test_MigrationNetwork_measures_through_the_agent_and_Quiet_says_yes()
    {
        await using var run = await lab.StartAsync(Policy, [new GuestSpec("ps-network")], startVms: false);
        using var session = new ModuleSession();
        var variables = new Dictionary<string, object?> { ["inventory"] = run.InventoryPath, ["pki"] = lab.PkiDirectory };

        var results = session.Run("Test-MigrationNetwork left right -Connections 1,2 -Seconds 1 -InventoryPath $inventory -PkiPath $pki -Verbose", out var shell, variables)
            .Select(o => Assert.IsType<NetworkTestResult>(o.BaseObject)).ToList();

        Assert.Equal([1, 2], results.Select(r => r.Connections));
        Assert.All(results, r => Assert.True(r.Reachable && r.Error is null && r.ThroughputGbps > 0, $"{r.Connections}: {r.Error}"));
        Assert.Contains(shell.Streams.Verbose, v => v.Message.StartsWith("Measuring 'loop' (left 127.0.0.1 -> right 127.0.0.2) with 2 connection(s)", StringComparison.Ordinal));
        Assert.Equal([true], session.Run("Test-MigrationNetwork LEFT RIGHT -Seconds 1 -InventoryPath $inventory -PkiPath $pki -Quiet", variables).Select(o => (bool)o.BaseObject));
        // -Resilient on an unbroken path: measured the same, no failovers; -Verbose says where a break would go on
        // (this lab's hosts share one network, so only back on it).
        var resilient = session.Run("Test-MigrationNetwork left right -Seconds 1 -Resilient -InventoryPath $inventory -PkiPath $pki -Verbose", out var resilientShell, variables)
            .Select(o => Assert.IsType<NetworkTestResult>(o.BaseObject)).Single();
        Assert.True(resilient.Reachable && resilient.Error is null && resilient.ThroughputGbps > 0, resilient.Error);
        Assert.Empty(resilient.Failovers);
        Assert.Contains(resilientShell.Streams.Verbose, v => v.Message.StartsWith("Resilient: a broken connection goes on over 'loop' only", StringComparison.Ordinal));

        variables["results"] = results;
        var table = string.Concat(session.Run("$results | Out-String -Width 300", variables));
        foreach (var column in new[] { "Network", "Path", "Connections", "RttMs", "Gbps", "Carrier", "Share" }) Assert.Contains(column, table);
        Assert.DoesNotContain("System.", string.Join("\n", session.Run("$results | ConvertTo-Csv", variables)));
    }

    [QemuFact]
    public async Task Test_VMMigration_finds_a_running_VM_ready_with_every_check_passed()
    {
        await using var run = await lab.StartAsync(Policy, [new GuestSpec("ps-ready")]);
        using var session = new ModuleSession();
        var variables = new Dictionary<string, object?> { ["inventory"] = run.InventoryPath, ["pki"] = lab.PkiDirectory, ["runDir"] = run.LeftRunDirectory };

        var readiness = Assert.IsType<MigrationReadiness>(Assert.Single(
            session.Run("Test-VMMigration ps-ready -InventoryPath $inventory -PkiPath $pki -RunDirectory $runDir", variables)).BaseObject);

        Assert.Equal(("ps-ready", "left", "right", "loop"), (readiness.Vm, readiness.SourceHost, readiness.DestinationHost, readiness.Network));
        Assert.True(readiness.Ready, string.Join(Environment.NewLine, readiness.Checks));
        Assert.Equal(["plan", "agent", "qemu", "memory", "source", "mtu", "convergence"], readiness.Checks.Select(c => c.Name));
        Assert.Contains("machine type 'pc'", readiness.Checks.Single(c => c.Name == "qemu").Detail);
        Assert.Contains("crossed unfragmented", readiness.Checks.Single(c => c.Name == "mtu").Detail);
        var convergence = readiness.Checks.Single(c => c.Name == "convergence"); // the guest's sampled dirty rate against the planned path
        Assert.True(convergence.Passed, convergence.Detail);
        Assert.Contains("converges in", convergence.Detail);
        Assert.Equal([true], session.Run("Test-VMMigration PS-READY right -InventoryPath $inventory -PkiPath $pki -RunDirectory $runDir -Quiet", variables).Select(o => (bool)o.BaseObject));
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp("ps-ready"))); // nothing moved
    }

    [QemuFact]
    public async Task Test_VMMigration_with_storage_copy_checks_the_disks_and_the_room_for_them()
    {
        var guest = new GuestSpec("ps-disk", DiskMiB: 128);
        await using var run = await lab.StartAsync("{ parallel: Disabled, transport: engine, encryption: tls, storage: copy }", [guest]);
        using var session = new ModuleSession();
        var variables = new Dictionary<string, object?> { ["inventory"] = run.InventoryPath, ["pki"] = lab.PkiDirectory, ["runDir"] = run.LeftRunDirectory };
        MigrationReadiness Check() => Assert.IsType<MigrationReadiness>(Assert.Single(
            session.Run("Test-VMMigration ps-disk right -InventoryPath $inventory -PkiPath $pki -RunDirectory $runDir", variables)).BaseObject);

        var ready = Check();
        Assert.True(ready.Ready, string.Join(Environment.NewLine, ready.Checks));
        Assert.Equal(["plan", "agent", "qemu", "memory", "storage", "source", "mtu", "convergence"], ready.Checks.Select(c => c.Name));
        var storage = ready.Checks.Single(c => c.Name == "storage").Detail;
        Assert.Contains($"right would create {run.DestinationImage(guest)} (qcow2, 128 MiB): ", storage);
        Assert.Contains(" to copy, ", storage);
        Assert.Contains(" free in ", storage);

        await Tool.RunAsync("qemu-img", "create", "-q", "-f", "qcow2", run.DestinationImage(guest), "1M"); // another VM's, say
        var notReady = Check();
        Assert.False(notReady.Ready, string.Join(Environment.NewLine, notReady.Checks));
        var refused = notReady.Checks.Single(c => c.Name == "storage");
        Assert.False(refused.Passed, string.Join(Environment.NewLine, notReady.Checks));
        Assert.Contains($"{run.DestinationImage(guest)} (disk '{GuestSpec.DiskKey}') exists already", refused.Detail);
        Assert.Contains("virtual size: 1 MiB", await Tool.RunAsync("qemu-img", "info", "-U", run.DestinationImage(guest))); // a check changes nothing
        Assert.True(notReady.Checks.Where(c => c.Name != "storage").All(c => c.Passed), string.Join(Environment.NewLine, notReady.Checks));
    }

    [QemuFact]
    public async Task Test_VMMigration_says_what_is_wrong_and_what_to_do_without_throwing()
    {
        await using var run = await lab.StartAsync(Policy, [new GuestSpec("ps-not-started"), new GuestSpec("ps-odd-machine")], startVms: false);
        File.WriteAllText(run.InventoryPath, ReplaceMachine(File.ReadAllText(run.InventoryPath), "ps-odd-machine", "no-such-machine"));
        lab.EditAgentInventory(text => ReplaceMachine(text, "ps-odd-machine", "no-such-machine")); // both copies agree
        using var session = new ModuleSession();
        var variables = new Dictionary<string, object?> { ["inventory"] = run.InventoryPath, ["pki"] = lab.PkiDirectory, ["runDir"] = run.LeftRunDirectory };

        var results = session.Run("Test-VMMigration 'ps-*' -InventoryPath $inventory -PkiPath $pki -RunDirectory $runDir", out var shell, variables)
            .Select(o => Assert.IsType<MigrationReadiness>(o.BaseObject)).ToList();

        Assert.Empty(shell.Streams.Error);
        var notStarted = results.Single(r => r.Vm == "ps-not-started");
        Assert.False(notStarted.Ready);
        Assert.Equal(["source"], notStarted.Failed);
        Assert.Contains($"There is no QMP socket at {run.SourceQmp("ps-not-started")}", notStarted.Checks.Single(c => c.Name == "source").Detail);
        var odd = results.Single(r => r.Vm == "ps-odd-machine");
        Assert.Contains("qemu", odd.Failed);
        Assert.Contains("has no machine type 'no-such-machine'", odd.Checks.Single(c => c.Name == "qemu").Detail);

        variables["results"] = results;
        var list = string.Concat(session.Run("$results | Format-List | Out-String -Width 300", variables));
        Assert.Matches(@"source\s+FAILED\s+There is no QMP socket", list);
        var row = session.Run("$results | ConvertTo-Csv | ConvertFrom-Csv", variables).First();
        Assert.Contains("source: FAILED: There is no QMP socket", row.Properties["Checks"].Value.ToString());
    }

    /// <summary>The inventory with one VM's "-machine pc" replaced.</summary>
    private static string ReplaceMachine(string inventory, string vm, string machine)
    {
        var at = inventory.IndexOf($"- name: {vm}", StringComparison.Ordinal);
        var machineAt = inventory.IndexOf("\"-machine\",\"pc\"", at, StringComparison.Ordinal);
        Assert.True(at >= 0 && machineAt > at, "test setup: the lab's guests start with -machine pc");
        return inventory[..machineAt] + $"\"-machine\",\"{machine}\"" + inventory[(machineAt + "\"-machine\",\"pc\"".Length)..];
    }
}
