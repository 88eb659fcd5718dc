using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Tests;

/// <summary>What -WhatIf and psmig migrate --what-if show: the QMP commands the driver sends, in order.
/// Planned only: no QEMU, no agent.</summary>
public sealed class MigrationDescriptionTests
{
    [Fact]
    public void Engine_with_tls_lists_multifd_setup_the_twin_and_the_engine_connections()
    {
        var steps = Describe("{ parallel: Custom, connections: 4, transport: engine, encryption: tls }");

        AssertStep(steps, "start the twin paused", "-incoming defer", "-S");
        AssertStep(steps, "destination QMP: migrate-set-capabilities", "{\"capability\":\"multifd\",\"state\":true}");
        AssertStep(steps, "destination QMP: migrate-set-parameters", "\"multifd-channels\":4");
        AssertStep(steps, "source QMP: migrate-set-capabilities", "{\"capability\":\"multifd\",\"state\":true}");
        AssertStep(steps, "source QMP: migrate-set-parameters", "\"multifd-channels\":4", "\"tls-creds\":\"\"");
        AssertStep(steps, "destination QMP: migrate-incoming {\"uri\":\"unix:");
        AssertStep(steps, "engine: 5 connection(s) from 127.0.0.1 to 127.0.0.2", "with TLS");
        AssertStep(steps, "source QMP: migrate {\"uri\":\"unix:");
        Assert.DoesNotContain(steps, s => s.Contains("tls-creds-x509", StringComparison.Ordinal)); // the engine encrypts, not QEMU
        AssertInOrder(steps, "start the twin", "destination QMP: migrate-set-capabilities", "destination QMP: migrate-incoming",
            "source QMP: migrate-set-capabilities", "engine:", "source QMP: migrate ", "commit", "source QMP: quit", "host: left -> right");
    }

    [Fact]
    public void Engine_plain_says_it_uses_the_session_token()
    {
        var steps = Describe("{ parallel: Custom, connections: 2, transport: engine, encryption: none }");

        AssertStep(steps, "engine: 3 connection(s)", "(plain, session token)");
    }

    [Fact]
    public void Direct_lets_QEMU_listen_on_a_tcp_port_and_connect_to_it()
    {
        var steps = Describe("{ parallel: Custom, connections: 2, transport: direct, encryption: none }");

        AssertStep(steps, "destination QMP: migrate-incoming {\"uri\":\"tcp:127.0.0.2:0\"}");
        AssertStep(steps, "source QMP: migrate {\"uri\":\"tcp:127.0.0.2:<port>\"}");
        AssertStep(steps, "source QMP: migrate-set-parameters", "\"multifd-channels\":2");
        Assert.DoesNotContain(steps, s => s.StartsWith("engine:", StringComparison.Ordinal));
        Assert.DoesNotContain(steps, s => s.Contains("tls-creds-x509", StringComparison.Ordinal));
    }

    [Fact]
    public void Direct_tls_adds_QEMUs_x509_credentials_on_both_sides_and_checks_the_destination_name()
    {
        var steps = Describe("{ parallel: Custom, connections: 2, transport: direct, encryption: tls }");

        AssertStep(steps, "destination QMP: object-add tls-creds-x509", "endpoint server");
        AssertStep(steps, "source QMP: object-add tls-creds-x509", "endpoint client");
        AssertStep(steps, "destination QMP: migrate-set-parameters", "\"tls-creds\":\"psmig-tls\"");
        AssertStep(steps, "source QMP: migrate-set-parameters", "\"tls-creds\":\"psmig-tls\"", "\"tls-hostname\":\"right\"");
        AssertInOrder(steps, "destination QMP: object-add", "destination QMP: migrate-set-capabilities", "source QMP: object-add", "source QMP: migrate-set-capabilities");
    }

    [Fact]
    public void Parallel_off_turns_multifd_off_and_sets_no_channel_count()
    {
        var steps = Describe("{ parallel: Disabled, transport: engine, encryption: tls }");

        AssertStep(steps, "source QMP: migrate-set-capabilities", "{\"capability\":\"multifd\",\"state\":false}");
        Assert.DoesNotContain(steps, s => s.Contains("multifd-channels", StringComparison.Ordinal));
        AssertStep(steps, "engine: 1 connection(s)");
    }

    [Fact]
    public void Bandwidth_cap_becomes_max_bandwidth_in_bytes_per_second()
    {
        var steps = Describe("{ transport: direct, bandwidthGbps: 0.8 }");

        AssertStep(steps, "source QMP: migrate-set-parameters", "\"max-bandwidth\":100000000");
    }

    [Fact]
    public void Timeout_and_inventory_update_are_shown()
    {
        var inventory = Inventory("{ transport: engine }");
        var request = Request(inventory) with { Timeout = TimeSpan.FromSeconds(42) };

        var steps = MigrationBackends.Describe(request);
        var withoutUpdate = MigrationBackends.Describe(request with { UpdateInventory = false });

        AssertStep(steps, "query-migrate every 250 ms until completed", "timeout 42 s");
        AssertStep(steps, $"inventory {inventory.Path}: vm-steps host: left -> right");
        Assert.DoesNotContain(withoutUpdate, s => s.StartsWith("inventory", StringComparison.Ordinal));
    }

    private static IReadOnlyList<string> Describe(string policy) => MigrationBackends.Describe(Request(Inventory(policy)));

    private static MigrationInventory Inventory(string policy) =>
        InventoryLoader.Parse(QemuLab.InventoryYaml("/nonexistent/guest.elf", QemuLab.UnusedPort, policy, [new GuestSpec("vm-steps")]), "/tmp/steps-inventory.yaml");

    private static MigrationRequest Request(MigrationInventory inventory) => new()
    {
        Plan = MigrationPlanner.Plan(inventory, "vm-steps", "right"),
        Vm = inventory.Vm("vm-steps"),
        PkiDirectory = "/nonexistent/pki",
        RunDirectory = "/run/left",
    };

    /// <summary>Exactly one step starts with (or contains) <paramref name="head"/>, and it holds every fragment.</summary>
    private static void AssertStep(IReadOnlyList<string> steps, string head, params string[] fragments)
    {
        var matching = steps.Where(s => s.Contains(head, StringComparison.Ordinal)).ToList();
        Assert.True(matching.Count == 1, $"expected one step with '{head}', got {matching.Count}:\n{string.Join("\n", steps)}");
        foreach (var fragment in fragments)
            Assert.True(matching[0].Contains(fragment, StringComparison.Ordinal), $"the step '{matching[0]}' lacks '{fragment}'");
    }

    private static void AssertInOrder(IReadOnlyList<string> steps, params string[] heads)
    {
        var positions = heads.Select(h => steps.ToList().FindIndex(s => s.Contains(h, StringComparison.Ordinal))).ToList();
        Assert.True(positions.All(p => p >= 0) && positions.SequenceEqual(positions.Order()),
            $"expected steps in the order [{string.Join(" | ", heads)}], got:\n{string.Join("\n", steps)}");
    }
}
