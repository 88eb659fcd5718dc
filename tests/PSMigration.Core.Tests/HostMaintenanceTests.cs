using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

namespace PSMigration.Core.Tests;

/// <summary>The drain contract's host keys (DESIGN.md "Drains"): <c>maintenance</c>, <c>memoryMiB</c>,
/// <c>reservedMemoryMiB</c>, read and checked like every other key; a host in maintenance is never a destination.</summary>
public class HostMaintenanceTests
{
    private static readonly string Base = InventoryBuilder.TwoHosts().Yaml();

    private static string WithKvm02(string keys) => Yaml.ReplaceOnce(Base, "  - name: kvm02\n", "  - name: kvm02\n" + keys);

    [Fact]
    public void The_keys_are_read_and_default_to_a_host_that_takes_VMs()
    {
        var inventory = InventoryLoader.Parse(WithKvm02("    maintenance: true\n    memoryMiB: 65536\n    reservedMemoryMiB: 4096\n"), "inv.yaml");

        var kvm02 = inventory.Host("kvm02");
        Assert.True(kvm02.InMaintenance);
        Assert.Equal((65536, 4096), (kvm02.MemoryMiB, kvm02.ReservedMemoryMiB));
        var kvm01 = inventory.Host("kvm01");
        Assert.Equal((false, (int?)null, 0), (kvm01.InMaintenance, kvm01.MemoryMiB, kvm01.ReservedMemoryMiB));
    }

    [Fact]
    public void A_planned_move_to_a_host_in_maintenance_is_refused_naming_where_the_inventory_says_so()
    {
        var text = WithKvm02("    maintenance: true\n");
        var inventory = InventoryLoader.Parse(text, "inv.yaml");

        var e = Assert.Throws<PlanningException>(() => MigrationPlanner.Plan(inventory, "web01", "kvm02"));

        Assert.Equal("DestinationInMaintenance", e.ErrorId);
        var (line, column) = Yaml.ValuePos(text, "maintenance: true");
        Assert.Contains($"kvm02 is in maintenance (inv.yaml:{line}:{column}: maintenance: true): it takes no VMs", e.Message);
        Assert.Equal("kvm02", MigrationPlanner.Plan(InventoryLoader.Parse(WithKvm02("    maintenance: false\n"), "inv.yaml"), "web01", "kvm02").DestinationHost);
    }

    [Fact]
    public void Maintenance_that_is_not_a_boolean_is_an_error_at_its_value()
    {
        var text = WithKvm02("    maintenance: soon\n");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "maintenance: soon"), "'maintenance' of host 'kvm02' must be true or false, not 'soon'");
    }

    [Fact]
    public void A_reserve_without_memory_or_not_below_it_is_an_error_at_the_reserve()
    {
        var without = WithKvm02("    reservedMemoryMiB: 2048\n");
        Yaml.AssertSingleError(without, Yaml.ValuePos(without, "reservedMemoryMiB: 2048"), "host 'kvm02' reserves 2048 MiB but has no memoryMiB");

        var all = WithKvm02("    memoryMiB: 2048\n    reservedMemoryMiB: 2048\n");
        Yaml.AssertSingleError(all, Yaml.ValuePos(all, "reservedMemoryMiB: 2048"), "host 'kvm02' reserves 2048 MiB of its 2048 MiB (memoryMiB): nothing would be left for VMs");
    }

    [Fact]
    public void A_misspelt_key_is_an_error_with_a_did_you_mean()
    {
        var text = WithKvm02("    maintenace: true\n");
        Yaml.AssertSingleError(text, Yaml.Pos(text, "maintenace"), "maintenance");
    }
}
