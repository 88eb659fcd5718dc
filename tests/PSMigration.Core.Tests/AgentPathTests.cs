using PSMigration.Core.Diagnostics;
using PSMigration.Core.Planning;

namespace PSMigration.Core.Tests;

/// <summary><see cref="AgentPath"/>: how a host reaches another's agent to have it run a migration (a runbook on another
/// host): over a management network both are on, even when a faster migration network is shared; else over the network a
/// migration between them would take; with none, the planner's error saying why for each network.</summary>
public class AgentPathTests
{
    [Fact]
    public void A_shared_management_network_wins_over_a_faster_migration_network()
    {
        var builder = InventoryBuilder.TwoHosts().Link("mig", "migration", 10);
        var inventory = builder.Load();

        var path = AgentPath.Between(inventory, inventory.Host("kvm02"), inventory.Host("kvm01"));

        Assert.Equal("lan", path.Network.Name);
        Assert.Equal(("kvm02", "192.0.2.12"), (path.Source.Host.Name, path.Source.Address.ToString()));
        Assert.Equal(("kvm01", "192.0.2.11"), (path.Destination.Host.Name, path.Destination.Address.ToString()));
        Assert.Equal("mig", builder.Plan().Network); // a migration between them would take the fast link
    }

    [Fact]
    public void Without_a_shared_management_network_it_takes_the_network_a_migration_would_use()
    {
        var inventory = InventoryBuilder.Bare()
            .Link("vms", "vm", 1)
            .Link("mig", "migration", 10)
            .Link("iscsi", "storage", 25)
            .Network("lan", "192.0.2.0/24", "management").Nic("kvm01", "eth0", "192.0.2.11/24", 1) // kvm01 only
            .Load();

        var path = AgentPath.Between(inventory, inventory.Host("kvm02"), inventory.Host("kvm01"));

        Assert.Equal("mig", path.Network.Name);
        Assert.Equal("kvm01", path.Destination.Host.Name);
    }

    [Fact]
    public void A_management_interface_that_is_down_does_not_count()
    {
        var inventory = InventoryBuilder.Bare()
            .Network("lan", "192.0.2.0/24", "management")
            .Nic("kvm01", "eth0", "192.0.2.11/24", 1)
            .Nic("kvm02", "eth0", "192.0.2.12/24", 1, "state: down")
            .Link("mig", "migration", 10)
            .Load();

        Assert.Equal("mig", AgentPath.Between(inventory, inventory.Host("kvm02"), inventory.Host("kvm01")).Network.Name);
    }

    [Fact]
    public void Without_any_usable_network_it_fails_saying_why_for_each()
    {
        var inventory = InventoryBuilder.Bare().Link("iscsi", "storage", 25).Load();

        var e = Assert.Throws<PlanningException>(() => AgentPath.Between(inventory, inventory.Host("kvm02"), inventory.Host("kvm01")));

        Assert.Equal("NoMigrationNetwork", e.ErrorId);
        Assert.Contains("iscsi", e.Message);
    }
}
