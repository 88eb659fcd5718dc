using System.Net;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Tests;

/// <summary>The plan's failover paths (<see cref="FailoverPaths"/>) and the policy key <c>networks</c> that orders them, through
/// <see cref="MigrationPlanner.Plan"/>: web01 on kvm01 to kvm02, over the engine unless said otherwise.</summary>
public sealed class FailoverPathsTests
{
    private static InventoryBuilder Engine(string policy = "{ transport: engine }") => InventoryBuilder.Bare().ClusterPolicy(policy);

    private static IReadOnlyList<string> Networks(MigrationPlan plan) => plan.Failover.Select(p => p.Network).ToList();

    private static string FailoverReason(MigrationPlan plan) =>
        Assert.Single(plan.Reasons, r => r.Contains("no failover", StringComparison.Ordinal) || r.Contains("carries on over", StringComparison.Ordinal));

    // ---- without networks: every other shared network open to migrations, as the selector ranks them ----------------

    [Fact]
    public void Without_networks_every_other_open_network_takes_over_migration_networks_by_priority_then_the_rest_fastest_first()
    {
        var plan = Engine()
            .Link("lan", "management", 1)
            .Link("mig-a", "migration", 10, ["priority: 1"])
            .Link("mig-slow", "migration", 25, ["priority: 5"])
            .Link("mig-fast", "migration", 40, ["priority: 5"])   // same priority as mig-slow, faster: first
            .Link("guests", "vm", 10)
            .Link("lan2", "management", 10)                      // as fast as guests: inventory order
            .Link("iscsi", "storage", 100)                       // closed to migrations: never silently
            .Link("iscsi-open", "storage", 10, ["allowMigration: true"])
            .Link("corosync", "cluster", 1)
            .Plan();

        Assert.Equal("mig-a", plan.Network);
        Assert.Equal(["mig-fast", "mig-slow", "guests", "lan2", "iscsi-open", "lan"], Networks(plan));
        Assert.Equal("If a connection on 'mig-a' fails, the engine carries on over 'mig-fast', then 'mig-slow', then 'guests', then 'lan2', " +
                     "then 'iscsi-open', then 'lan'.", FailoverReason(plan));
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void The_carrier_is_never_a_failover_path_and_each_path_has_both_ends_and_the_slower_ends_bandwidth()
    {
        var builder = Engine()
            .Link("mig", "migration", 10)
            .Network("lan", "192.0.2.0/24", "management")
            .Nic("kvm01", "eth0", "192.0.2.11/24", 10)
            .Nic("kvm02", "eno1", "192.0.2.12/24", 1);

        var plan = builder.Plan();

        Assert.Equal("mig", plan.Network);
        var path = Assert.Single(plan.Failover);
        Assert.Equal(new NetworkPath("lan", "eth0", IPAddress.Parse("192.0.2.11"), "eno1", IPAddress.Parse("192.0.2.12"), 1), path);
        Assert.Equal("lan (eth0 192.0.2.11 -> eno1 192.0.2.12, 1 Gbps)", path.ToString());
        Assert.Equal("lan (eth0 192.0.2.11 -> eno1 192.0.2.12, 1 Gbps)", plan.Failover.ToString()); // "$($plan.Failover)", Export-Csv
    }

    [Fact]
    public void With_no_other_open_shared_network_there_is_no_failover_and_the_reason_says_so()
    {
        var plan = Engine()
            .Link("lan", "management", 1)
            .Link("iscsi", "storage", 10)
            .Link("mig", "migration", 10, onHosts: ["kvm01"])
            .Plan();

        Assert.Equal("lan", plan.Network);
        Assert.Empty(plan.Failover);
        Assert.Equal("If a connection on 'lan' fails, no other shared network is open to migrations: no failover.", FailoverReason(plan));
    }

    [Fact]
    public void A_network_asked_for_by_name_carries_and_the_others_take_over_in_the_selectors_order()
    {
        var plan = Engine()
            .Link("lan", "management", 1)
            .Link("mig", "migration", 10)
            .Link("iscsi", "storage", 10, ["allowMigration: true"])
            .Plan(network: "lan");

        Assert.Equal("lan", plan.Network);
        Assert.Equal(["mig", "iscsi"], Networks(plan));
    }

    // ---- only the engine fails over ----------------------------------------------------------------------------------

    [Fact]
    public void The_direct_transport_has_no_failover_and_says_why_once()
    {
        var plan = InventoryBuilder.Bare().Link("lan", "management", 1).Link("mig", "migration", 10).Plan();

        Assert.Equal(MigrationTransport.Direct, plan.Transport);
        Assert.Empty(plan.Failover);
        Assert.Equal("Transport direct (from default): QEMU's own connections cannot move to another network: no failover.", FailoverReason(plan));
    }

    [Fact]
    public void The_direct_transport_asked_for_one_run_has_no_failover_either_even_with_networks()
    {
        var inventory = Engine("{ transport: engine, networks: [mig, lan] }").Link("lan", "management", 1).Link("mig", "migration", 10).Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Transport: MigrationTransport.Direct));

        Assert.Equal("mig", plan.Network); // the list still says which network carries it
        Assert.Empty(plan.Failover);
        Assert.Equal("Transport direct (from parameter): QEMU's own connections cannot move to another network: no failover.", FailoverReason(plan));
    }

    [Fact]
    public void The_engine_asked_for_one_run_fails_over()
    {
        var inventory = InventoryBuilder.Bare().Link("lan", "management", 1).Link("mig", "migration", 10).Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Transport: MigrationTransport.Engine));

        Assert.Equal(["lan"], Networks(plan));
    }

    [Fact]
    public void A_libvirt_domain_has_no_failover_whatever_the_transport()
    {
        var inventory = InventoryLoader.LoadSample(); // db01 is a libvirt domain; kvm01 and kvm02 share mig and lan

        var plan = MigrationPlanner.Plan(inventory, "db01", "kvm02", null, new PlanOverrides(Transport: MigrationTransport.Engine));

        Assert.Empty(plan.Failover);
        Assert.Equal("db01 is a libvirt domain: libvirt opens its migration's connections itself, and they cannot move to another network: " +
                     "no failover.", FailoverReason(plan));
    }

    // ---- with networks ---------------------------------------------------------------------------------------------

    [Fact]
    public void With_networks_the_first_carries_and_the_others_take_over_in_the_listed_order_even_when_slower()
    {
        var plan = Engine("{ transport: engine, networks: [lan, guests, mig] }")
            .Link("mig", "migration", 10, ["priority: 1"])
            .Link("lan", "management", 1)
            .Link("guests", "vm", 1)
            .Link("fast", "management", 40) // not listed: not used
            .Plan();

        Assert.Equal("lan", plan.Network);
        Assert.Contains("Chose 'lan': the first of networks (from cluster 'prod').", plan.Reasons);
        Assert.Equal(["guests", "mig"], Networks(plan));
        Assert.Equal("If a connection on 'lan' fails, the engine carries on over 'guests', then 'mig', in the order of networks (from cluster 'prod').",
            FailoverReason(plan));
        Assert.Equal("networks (from cluster 'prod') puts 'lan' first", Assert.Single(plan.Rejected, r => r.Network == "mig").Reason);
        Assert.Equal("networks (from cluster 'prod') puts 'lan' first", Assert.Single(plan.Rejected, r => r.Network == "fast").Reason);
    }

    [Fact]
    public void Listed_networks_closed_to_migrations_are_used_with_the_warning_of_a_network_asked_for_by_name()
    {
        var plan = Engine("{ transport: engine, networks: [corosync, iscsi] }")
            .Link("lan", "management", 1)
            .Link("corosync", "cluster", 1)
            .Link("iscsi", "storage", 10)
            .Plan();

        Assert.Equal("corosync", plan.Network);
        Assert.Equal(["iscsi"], Networks(plan));
        Assert.Equal(
            [
                "'corosync' is a cluster network that is closed to migrations unless requested; migration traffic will compete with its cluster traffic.",
                "'iscsi' is a storage network that is closed to migrations unless requested; migration traffic will compete with its storage traffic.",
            ], plan.Warnings);
    }

    [Fact]
    public void A_listed_network_the_hosts_do_not_share_is_skipped_for_failover_with_the_reason()
    {
        var plan = Engine("{ transport: engine, networks: [mig, iscsi, lan] }")
            .Link("mig", "migration", 10)
            .Link("iscsi", "storage", 10, ["allowMigration: true"], onHosts: ["kvm01"])
            .Link("lan", "management", 1, nicExtra: ["state: down"], onHosts: ["kvm02"])
            .Nic("kvm01", "lan", "10.3.0.11/24", 1)
            .Plan();

        Assert.Equal("mig", plan.Network);
        Assert.Empty(plan.Failover);
        Assert.Contains("'iscsi' of networks (from cluster 'prod') is skipped for failover: not on kvm02: no interface has an address in 10.2.0.0/24.",
            plan.Reasons);
        Assert.Contains("'lan' of networks (from cluster 'prod') is skipped for failover: interface lan on kvm02 is down.", plan.Reasons);
        Assert.Equal("If a connection on 'mig' fails, no other network of networks (from cluster 'prod') is shared by kvm01 and kvm02: no failover.",
            FailoverReason(plan));
    }

    [Fact]
    public void A_list_of_one_network_has_no_failover_and_says_so()
    {
        var plan = Engine().Link("mig", "migration", 10).Link("lan", "management", 1)
            .WithVm(migration: "{ networks: [mig] }").Plan();

        Assert.Empty(plan.Failover);
        Assert.Equal("If a connection on 'mig' fails, networks (from VM 'web01') names no other network: no failover.", FailoverReason(plan));
    }

    [Fact]
    public void A_first_listed_network_the_hosts_do_not_share_is_NetworkNotShared_naming_the_key_and_where_it_is_set()
    {
        var builder = Engine("{ transport: engine, networks: [mig, lan] }")
            .Link("lan", "management", 1)
            .Link("mig", "migration", 10, onHosts: ["kvm01"]);
        var text = builder.Yaml();
        var (line, column) = Yaml.ValuePos(text, "networks: [mig");

        var e = Assert.Throws<PlanningException>(() => builder.Plan());

        Assert.Equal("NetworkNotShared", e.ErrorId);
        Assert.Equal("mig", e.Target);
        Assert.Equal($"Network 'mig', the first of networks (from cluster 'prod' at inv.yaml:{line}:{column}), cannot carry a migration " +
                     "from kvm01 to kvm02: not on kvm02: no interface has an address in 10.2.0.0/24", e.Message);
    }

    [Fact]
    public void A_network_asked_for_by_name_wins_over_the_list_which_then_only_orders_the_rest()
    {
        var plan = Engine("{ transport: engine, networks: [mig, iscsi, lan] }")
            .Link("lan", "management", 1)
            .Link("mig", "migration", 10)
            .Link("iscsi", "storage", 10)
            .Plan(network: "lan");

        Assert.Equal("lan", plan.Network);
        Assert.Contains("Chose 'lan': requested by name.", plan.Reasons);
        Assert.Equal(["mig", "iscsi"], Networks(plan));
        Assert.Equal("not requested ('lan' was asked for by name)", Assert.Single(plan.Rejected, r => r.Network == "mig").Reason);
    }

    [Fact]
    public void A_vms_networks_replace_its_clusters_in_the_plan()
    {
        var plan = Engine("{ transport: engine, networks: [mig, lan] }")
            .Link("lan", "management", 1)
            .Link("mig", "migration", 10)
            .Link("guests", "vm", 1)
            .WithVm(migration: "{ networks: [guests, lan] }")
            .Plan();

        Assert.Equal("guests", plan.Network);
        Assert.Equal(["lan"], Networks(plan));
        Assert.Contains("Chose 'guests': the first of networks (from VM 'web01').", plan.Reasons);
    }
}

/// <summary>Where a resilient network test (<c>Test-MigrationNetwork -Resilient</c>) carries on: the same open networks
/// as a migration's failover without <c>networks</c>, in the same order, and the cluster's tolerance.</summary>
public sealed class NetworkTestFailoverTests
{
    [Fact]
    public void A_resilient_test_of_one_network_goes_on_over_the_other_open_ones_best_first_within_the_clusters_tolerance()
    {
        var inventory = InventoryBuilder.Bare().ClusterPolicy("{ linkLossToleranceSeconds: 12 }")
            .Link("lan", "management", 1)
            .Link("mig", "migration", 10, ["priority: 1"])
            .Link("guests", "vm", 25)
            .Link("iscsi", "storage", 100) // closed to migrations: never silently
            .Load();

        var plan = NetworkTestPlan.For(inventory, "kvm01", "kvm02", "mig", null);

        var measured = Assert.Single(plan.Paths);
        Assert.Equal(["guests", "lan"], plan.FailoverFrom(measured).Select(f => f.Network));
        Assert.Equal(TimeSpan.FromSeconds(12), plan.LinkLossTolerance);
        var storage = NetworkTestPlan.For(inventory, "kvm01", "kvm02", "iscsi", null); // measured when asked for, all the same
        Assert.Equal(["mig", "guests", "lan"], storage.FailoverFrom(Assert.Single(storage.Paths)).Select(f => f.Network));
    }

    [Fact]
    public void Without_a_tolerance_in_the_policy_a_resilient_test_waits_the_default_30_s()
    {
        var inventory = InventoryBuilder.Bare().Link("lan", "management", 1).Link("mig", "migration", 10).Load();

        Assert.Equal(TimeSpan.FromSeconds(30), NetworkTestPlan.For(inventory, "kvm01", "kvm02", null, null).LinkLossTolerance);
    }
}
