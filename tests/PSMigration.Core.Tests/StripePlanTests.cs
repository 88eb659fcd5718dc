using PSMigration.Core.Planning;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Tests;

/// <summary>Striping (<see cref="StripePlan"/>, policy <c>stripe</c>) through <see cref="MigrationPlanner.Plan"/>: web01
/// (8 vCPUs) on kvm01 to kvm02, over the engine unless said otherwise.</summary>
public sealed class StripePlanTests
{
    private static InventoryBuilder Striped(string policy = "{ transport: engine, stripe: true }") => InventoryBuilder.Bare().ClusterPolicy(policy);

    private static IReadOnlyList<(string Network, int Connections)> Shares(MigrationPlan plan) =>
        plan.Stripe.Select(s => (s.Path.Network, s.Connections)).ToList();

    private static string StripeReason(MigrationPlan plan) => Assert.Single(plan.Reasons, r => r.StartsWith("stripe (from", StringComparison.Ordinal));

    [Fact]
    public void Two_one_gigabit_links_get_one_connection_each_and_the_plan_sums_their_bandwidth()
    {
        var plan = Striped().Link("lan", "management", 1).Link("mig", "migration", 1).Plan();

        Assert.Equal("mig", plan.Network);
        Assert.Equal([("mig", 1), ("lan", 1)], Shares(plan));
        Assert.Equal(2, plan.BandwidthGbps);
        Assert.True(plan.Parallel);
        Assert.Equal(2, plan.Connections); // Auto would stay at one connection for 2 Gbps: a stripe needs one per network
        Assert.Contains(plan.Reasons, r => r.Contains("raised to 2: one per striped network", StringComparison.Ordinal));
        Assert.Equal("stripe (from cluster 'prod'): the connections are spread over 'mig' (1), 'lan' (1), in proportion to their bandwidth, " +
                     "2 Gbps in all.", StripeReason(plan));
        Assert.Equal(["lan"], plan.Failover.Select(p => p.Network)); // each fails over within the stripe
    }

    [Fact]
    public void The_connection_count_rule_applies_to_the_sum_and_the_shares_follow_the_bandwidth()
    {
        // 40 + 20 Gbps: floor(60 / 10) = 6 connections, 4 and 2.
        var plan = Striped().Link("mig", "migration", 40).Link("lan", "management", 20).Plan();

        Assert.Equal(60, plan.BandwidthGbps);
        Assert.Equal(6, plan.Connections);
        Assert.Equal([("mig", 4), ("lan", 2)], Shares(plan));
        Assert.Equal(["mig", "lan", "mig", "lan", "mig", "mig"], plan.StripeTurns.Select(p => p.Network));
    }

    [Fact]
    public void Networks_lists_the_stripe_in_its_order_and_a_network_it_leaves_out_is_not_used()
    {
        var plan = Striped("{ transport: engine, stripe: true, networks: [lan, iscsi-a] }")
            .Link("mig", "migration", 10)
            .Link("lan", "management", 10)
            .Link("iscsi-a", "storage", 10, ["allowMigration: true"])
            .Plan();

        Assert.Equal("lan", plan.Network);
        Assert.Equal([("lan", 1), ("iscsi-a", 1)], Shares(plan));
        Assert.Equal(20, plan.BandwidthGbps);
    }

    [Fact]
    public void Custom_with_fewer_connections_than_networks_stripes_over_the_first_ones_only()
    {
        var plan = Striped("{ transport: engine, stripe: true, parallel: Custom, connections: 2 }")
            .Link("mig", "migration", 10).Link("lan", "management", 10).Link("guests", "vm", 10).Plan();

        Assert.Equal([("mig", 1), ("lan", 1)], Shares(plan));
        Assert.Equal(20, plan.BandwidthGbps);
        Assert.Contains("('guests' only take over: 2 connections, one per network at least)", StripeReason(plan));
        Assert.Equal(["lan", "guests"], plan.Failover.Select(p => p.Network));
    }

    [Fact]
    public void The_bandwidth_cap_applies_to_the_sum()
    {
        var plan = Striped("{ transport: engine, stripe: true, bandwidthGbps: 1.5 }").Link("mig", "migration", 1).Link("lan", "management", 1).Plan();

        Assert.Equal(2, plan.Stripe.Count);
        Assert.Equal(1.5, plan.BandwidthGbps);
        Assert.Contains("Capped at 1.5 Gbps by bandwidthGbps (from cluster 'prod').", plan.Reasons);
    }

    [Fact]
    public void One_connection_is_not_striped_and_says_so()
    {
        var plan = Striped("{ transport: engine, stripe: true, parallel: Disabled }").Link("mig", "migration", 10).Link("lan", "management", 1).Plan();

        Assert.Empty(plan.Stripe);
        Assert.Equal(10, plan.BandwidthGbps); // the carrier's alone
        Assert.Equal("stripe (from cluster 'prod'): one connection cannot be spread over several networks: it goes over 'mig'.", StripeReason(plan));
        Assert.Empty(plan.StripeTurns);
    }

    [Fact]
    public void The_direct_transport_does_not_stripe_and_says_why()
    {
        var plan = Striped("{ transport: direct, stripe: true }").Link("mig", "migration", 10).Link("lan", "management", 10).Plan();

        Assert.Empty(plan.Stripe);
        Assert.Equal(10, plan.BandwidthGbps);
        Assert.Equal(1, plan.Connections);
        Assert.Equal("stripe (from cluster 'prod'): no other network may carry this migration (see the failover reason): every connection goes over 'mig'.",
            StripeReason(plan));
    }

    [Fact]
    public void Without_stripe_the_other_networks_only_take_over()
    {
        var plan = InventoryBuilder.Bare().ClusterPolicy("{ transport: engine }").Link("mig", "migration", 1).Link("lan", "management", 1).Plan();

        Assert.Empty(plan.Stripe);
        Assert.Equal(1, plan.BandwidthGbps);
        Assert.Equal(1, plan.Connections);
        Assert.DoesNotContain(plan.Reasons, r => r.StartsWith("stripe", StringComparison.Ordinal));
    }

    [Fact]
    public void A_share_reads_as_its_connections_and_path()
    {
        var plan = Striped().Link("mig", "migration", 1).Link("lan", "management", 1).Plan();

        Assert.Matches(@"^1 connection\(s\) over mig \(\S+ [\d.]+ -> \S+ [\d.]+, 1 Gbps\)$", plan.Stripe[0].ToString());
    }
}
