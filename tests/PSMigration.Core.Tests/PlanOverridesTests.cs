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
    public void Postcopy_with_parallel_Auto_turns_multifd_off_and_postcopy_on_with_the_parameter_as_its_source()
    {
        var inventory = InventoryBuilder.Bare().Link("mig", "migration", 40).Load(); // Auto: 4 connections
        Assert.True(MigrationPlanner.Plan(inventory, "web01", "kvm02").Parallel);

        var policy = new PlanOverrides(Postcopy: true).Apply(inventory.VmPolicy("web01"));
        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Postcopy: true));

        Assert.True(policy.Postcopy);
        Assert.Equal("parameter", policy.Sources[PolicyKeys.Postcopy].Description);
        Assert.Equal("default", policy.Sources[PolicyKeys.Parallel].Description);
        Assert.True(plan.Postcopy);
        Assert.False(plan.Parallel);
        Assert.Equal(1, plan.Connections);
        Assert.Equal(ParallelMode.Auto, plan.ParallelMode);
        Assert.Contains(plan.Reasons, r => r.StartsWith("One connection: parallel is Auto (from default), and postcopy is on", StringComparison.Ordinal));
    }

    [Fact]
    public void Postcopy_with_parallel_Disabled_keeps_one_connection()
    {
        var inventory = Inventory().ClusterPolicy("{ parallel: Disabled }").Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Postcopy: true));

        Assert.True(plan.Postcopy);
        Assert.False(plan.Parallel);
    }

    [Theory]
    [InlineData("{ parallel: Custom, connections: 4 }", "Custom", "VM 'web01'")]
    [InlineData("{ parallel: Parallel }", "Parallel", "VM 'web01'")]
    public void Postcopy_with_parallel_Custom_or_Parallel_is_refused_naming_Postcopy(string vmPolicy, string mode, string parallelFrom)
    {
        var inventory = Inventory().WithVm(migration: vmPolicy).Load();

        var e = Assert.Throws<MigrationException>(() => MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Postcopy: true)));

        Assert.Equal("InvalidParameterValue", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Equal("Postcopy", e.Target);
        Assert.Contains($"The requested settings break a policy rule: VM 'web01': postcopy: true cannot be combined with parallel: {mode}", e.Message);
        Assert.Contains($"(postcopy from parameter, parallel from {parallelFrom})", e.Message);
    }

    [Fact]
    public void Connections_that_break_the_policys_postcopy_are_refused_naming_Connections()
    {
        // the rule points at postcopy (it has a line in the file); the parameter that broke it is -Connections
        var inventory = Inventory().WithVm(migration: "{ postcopy: true }").Load();

        var e = Assert.Throws<MigrationException>(() => MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Connections: 4)));

        Assert.Equal("Connections", e.Target);
    }

    [Fact]
    public void Postcopy_and_Connections_together_are_refused()
    {
        var e = Assert.Throws<MigrationException>(() =>
            MigrationPlanner.Plan(Inventory().Load(), "web01", "kvm02", null, new PlanOverrides(Connections: 4, Postcopy: true)));

        Assert.Equal("InvalidParameterValue", e.ErrorId);
        Assert.Contains("(postcopy from parameter, parallel from parameter)", e.Message);
    }

    [Fact]
    public void Postcopy_leaves_the_policys_timeoutAction_as_it_is()
    {
        // -Postcopy asks for a switch of its own (MigrationOptions.PostcopyAfter); until then the policy's action stands
        var inventory = Inventory().ClusterPolicy("{ timeoutAction: pause }").Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Postcopy: true));

        Assert.True(plan.Postcopy);
        Assert.Equal(TimeoutAction.Pause, plan.TimeoutAction);
    }

    [Fact]
    public void Without_Postcopy_the_plan_takes_the_policys_postcopy()
    {
        Assert.False(MigrationPlanner.Plan(Inventory().Load(), "web01", "kvm02", null, new PlanOverrides(Postcopy: false)).Postcopy);
        Assert.True(MigrationPlanner.Plan(Inventory().ClusterPolicy("{ postcopy: true }").Load(), "web01", "kvm02").Postcopy);
    }

    // ---- the convergence keys in the plan ------------------------------------------------------------

    [Fact]
    public void The_plan_carries_the_convergence_keys_and_says_what_happens_at_the_timeout()
    {
        var inventory = Inventory().ClusterPolicy("{ postcopy: true, autoConverge: true, timeoutAction: postcopy, completionTimeoutPerGiB: 20, progressTimeout: 60 }").Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02");

        Assert.True(plan.AutoConverge);
        Assert.Equal(TimeoutAction.Postcopy, plan.TimeoutAction);
        Assert.Equal(20, plan.CompletionTimeoutPerGiB);
        Assert.Equal(60, plan.ProgressTimeoutSeconds);
        Assert.Contains(plan.Reasons, r => r.StartsWith("autoConverge (from cluster 'prod'): while the guest dirties memory faster than it moves, QEMU throttles its vCPUs", StringComparison.Ordinal));
        Assert.Contains("If it has not converged within 20 s per GiB of RAM (or the remaining bytes have not fallen for 60 s): switch to post-copy " +
                        "(the VM runs at the destination at once; the source can no longer resume it) (timeoutAction from cluster 'prod').", plan.Reasons);
    }

    [Fact]
    public void A_plan_by_default_has_no_auto_converge_cancels_at_the_default_timeout_and_says_nothing_of_it()
    {
        var plan = MigrationPlanner.Plan(Inventory().Load(), "web01", "kvm02");

        Assert.False(plan.AutoConverge);
        Assert.Equal(TimeoutAction.Cancel, plan.TimeoutAction);
        Assert.Null(plan.CompletionTimeoutPerGiB);
        Assert.Null(plan.ProgressTimeoutSeconds);
        Assert.DoesNotContain(plan.Reasons, r => r.StartsWith("autoConverge", StringComparison.Ordinal) || r.StartsWith("If it has not converged", StringComparison.Ordinal));
    }

    [Fact]
    public void A_vm_pause_over_its_cluster_is_in_the_plan_with_its_source()
    {
        var inventory = Inventory().ClusterPolicy("{ timeoutAction: cancel }").WithVm(migration: "{ timeoutAction: pause }").Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02");

        Assert.Equal(TimeoutAction.Pause, plan.TimeoutAction);
        Assert.Contains("If it has not converged by the timeout: pause the guest at the source and finish (a longer downtime) (timeoutAction from VM 'web01').", plan.Reasons);
    }

    // ---- the link-loss tolerance in the plan ---------------------------------------------------------

    [Fact]
    public void A_plan_by_default_tolerates_30_s_without_a_path_and_says_nothing_of_it()
    {
        var plan = MigrationPlanner.Plan(Inventory().Load(), "web01", "kvm02");

        Assert.Equal(30, plan.LinkLossToleranceSeconds);
        Assert.DoesNotContain(plan.Reasons, r => r.Contains("linkLossToleranceSeconds", StringComparison.Ordinal));
    }

    [Fact]
    public void The_clusters_link_loss_tolerance_is_in_the_plan_with_its_source()
    {
        var plan = MigrationPlanner.Plan(Inventory().ClusterPolicy("{ linkLossToleranceSeconds: 90 }").Load(), "web01", "kvm02");

        Assert.Equal(90, plan.LinkLossToleranceSeconds);
        Assert.Contains("linkLossToleranceSeconds 90 (from cluster 'prod'): without a working path to kvm02 for longer, the migration gives up " +
                        "(after a switch to post-copy, the stream is recovered for at most that long).", plan.Reasons);
    }

    [Fact]
    public void A_vms_link_loss_tolerance_wins_over_its_clusters_in_the_plan()
    {
        var inventory = Inventory().ClusterPolicy("{ linkLossToleranceSeconds: 90 }").WithVm(migration: "{ linkLossToleranceSeconds: 600 }").Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02");

        Assert.Equal(600, plan.LinkLossToleranceSeconds);
        Assert.Contains(plan.Reasons, r => r.StartsWith("linkLossToleranceSeconds 600 (from VM 'web01'): ", StringComparison.Ordinal));
    }

    [Fact]
    public void A_switch_to_post_copy_for_one_run_keeps_the_policys_link_loss_tolerance()
    {
        var inventory = Inventory().ClusterPolicy("{ linkLossToleranceSeconds: 45 }").Load();

        var plan = MigrationPlanner.Plan(inventory, "web01", "kvm02", null, new PlanOverrides(Postcopy: true));

        Assert.True(plan.Postcopy);
        Assert.Equal(45, plan.LinkLossToleranceSeconds);
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
