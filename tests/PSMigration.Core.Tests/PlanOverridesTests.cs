using PSMigration.Core.Diagnostics;
using PSMigration.Core.Planning;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Tests;

/// <summary>
/// <see cref="PlanOverrides"/>: what an operator asks of one migration (<c>--transport</c>,
/// <c>--connections</c>, <c>--copy-storage</c>) replaces the policy's value before planning, says so in the plan's sources
/// and reasons, and still obeys every policy rule.
/// </summary>
public sealed class PlanOverridesTests
{
    /// <summary>kvm01 -> kvm02 over a 10 Gbps migration network, 32 threads each, web01 with 8 vCPUs:
    /// Auto would pick one connection per 10 Gbps, so overrides are visible.</summary>
    private static InventoryBuilder Inventory() =>
        InventoryBuilder.Bare().Link("mig", "migration", 10);

    [Fact]
    public void Transport_override_replaces_the_policys_transport_and_names_the_parameter_as_its_source()
    {
        var inventory = Inventory().Load();
        Assert.Equal(MigrationTransport.Direct, inventory.VmPolicy("web01").Transport); // the default

        var policy = new PlanOverrides(Transport: MigrationTransport.Engine).Apply(inventory.VmPolicy("web01"));
        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Transport: MigrationTransport.Engine));

        Assert.Equal(MigrationTransport.Engine, policy.Transport);
        Assert.Equal("parameter", policy.Sources[PolicyKeys.Transport].Description);
        Assert.Equal("default", policy.Sources[PolicyKeys.Parallel].Description); // untouched keys keep theirs
        Assert.Equal(MigrationTransport.Engine, plan.Transport);
    }

    [Fact]
    public void Transport_override_wins_over_a_vm_policy()
    {
        var inventory = Inventory().WithVm(migration: "{ transport: engine }").Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Transport: MigrationTransport.Direct));

        Assert.Equal(MigrationTransport.Direct, plan.Transport);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(6)]
    public void Connections_override_makes_parallel_Custom_with_that_many(int connections)
    {
        var inventory = Inventory().Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Connections: connections));

        Assert.True(plan.Parallel);
        Assert.Equal(ParallelMode.Custom, plan.ParallelMode);
        Assert.Equal(connections, plan.Connections);
        Assert.Contains($"{connections} connections: parallel is Custom (from parameter).", plan.Reasons);
    }

    [Fact]
    public void One_connection_turns_parallel_off()
    {
        var inventory = Inventory().ClusterPolicy("{ parallel: Custom, connections: 8 }").Load();

        var policy = new PlanOverrides(Connections: 1).Apply(inventory.VmPolicy("web01"));
        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Connections: 1));

        Assert.Equal(ParallelMode.Disabled, policy.Parallel);
        Assert.Null(policy.Connections);
        Assert.Equal("parameter", policy.Sources[PolicyKeys.Parallel].Description);
        Assert.False(plan.Parallel);
        Assert.Equal(1, plan.Connections);
        Assert.Equal(ParallelMode.Disabled, plan.ParallelMode);
        Assert.Contains("One connection: parallel is Disabled (from parameter).", plan.Reasons);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(256)]
    public void Connections_outside_1_to_255_are_refused(int connections)
    {
        var inventory = Inventory().Load();

        var e = Assert.Throws<MigrationException>(() => MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Connections: connections)));

        Assert.Equal("InvalidParameterValue", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Contains($"Connections must be 1 to 255 (1 turns parallel off), not {connections}", e.Message);
    }

    [Fact]
    public void Connections_at_the_limit_are_accepted()
    {
        var policy = new PlanOverrides(Connections: 255).Apply(Inventory().Load().VmPolicy("web01"));

        Assert.Equal(255, policy.Connections);
        Assert.Equal(ParallelMode.Custom, policy.Parallel);
    }

    [Fact]
    public void Override_that_breaks_a_policy_rule_is_refused_saying_which()
    {
        var inventory = Inventory().WithVm(migration: "{ postcopy: true }").Load();

        var e = Assert.Throws<MigrationException>(() => MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Connections: 4)));

        Assert.Equal("InvalidParameterValue", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Contains("The requested settings break a policy rule", e.Message);
        Assert.Contains("postcopy: true cannot be combined with parallel: Custom", e.Message);
        Assert.Contains("parallel from parameter", e.Message);
    }

    [Fact]
    public void One_connection_with_postcopy_is_fine()
    {
        var inventory = Inventory().WithVm(migration: "{ postcopy: true }").Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Connections: 1));

        Assert.True(plan.Postcopy);
        Assert.False(plan.Parallel);
    }

    [Fact]
    public void CopyStorage_makes_storage_copy_with_the_parameter_as_its_source_and_says_so_in_the_plan()
    {
        var inventory = Inventory().Load();
        Assert.Equal(StorageMode.Shared, inventory.VmPolicy("web01").Storage); // the default

        var policy = new PlanOverrides(CopyStorage: true).Apply(inventory.VmPolicy("web01"));
        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(CopyStorage: true));

        Assert.Equal(StorageMode.Copy, policy.Storage);
        Assert.Equal("parameter", policy.Sources[PolicyKeys.Storage].Description);
        Assert.Equal("default", policy.Sources[PolicyKeys.Transport].Description);
        Assert.Equal(StorageMode.Copy, plan.Storage);
        Assert.True(plan.CopyStorage);
        Assert.Contains("storage: copy (from parameter): the VM's writable local disks are copied to kvm02 before its memory.", plan.Reasons);
    }

    [Fact]
    public void CopyStorage_wins_over_a_vm_policy_of_shared()
    {
        var inventory = Inventory().ClusterPolicy("{ storage: copy }").WithVm(migration: "{ storage: shared }").Load();

        Assert.Equal(StorageMode.Shared, MigrationPlanner.Plan(inventory, "web01", "kvm02").Storage);
        Assert.Equal(StorageMode.Copy, MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(CopyStorage: true)).Storage);
    }

    [Fact]
    public void Without_CopyStorage_the_plan_takes_the_policys_storage()
    {
        var shared = MigrationPlanner.Plan(Inventory().Load(), "web01", "kvm02", null, new PlanOverrides(CopyStorage: false));
        Assert.Equal(StorageMode.Shared, shared.Storage);
        Assert.DoesNotContain(shared.Reasons, r => r.StartsWith("storage:", StringComparison.Ordinal));

        var copy = MigrationPlanner.Plan(Inventory().ClusterPolicy("{ storage: copy }").Load(), "web01", "kvm02");
        Assert.Equal(StorageMode.Copy, copy.Storage);
        Assert.Contains("storage: copy (from cluster 'prod'): the VM's writable local disks are copied to kvm02 before its memory.", copy.Reasons);
    }

    [Fact]
    public void No_overrides_leave_the_policy_as_it_is()
    {
        var inventory = Inventory().ClusterPolicy("{ parallel: Custom, connections: 3, transport: engine, storage: copy }").Load();
        var policy = inventory.VmPolicy("web01");

        var applied = new PlanOverrides().Apply(policy);

        Assert.Equal(PolicyKeys.All.Select(k => PolicyKeys.YamlValue(policy.Values, k)), PolicyKeys.All.Select(k => PolicyKeys.YamlValue(applied.Values, k)));
        Assert.Equal(policy.Sources.OrderBy(s => s.Key), applied.Sources.OrderBy(s => s.Key));
    }
}
