namespace PSMigration.Core.Tests;

/// <summary>The limits a plan carries for the batch that runs it: <c>MaxConcurrentIncoming</c> is the destination
/// cluster's <c>maxConcurrentIncoming</c> (every migration into that host counts), null where nobody sets it.</summary>
public class PlanLimitsTests
{
    [Fact]
    public void MaxConcurrentIncoming_comes_from_the_destination_clusters_policy()
    {
        var plan = InventoryBuilder.TwoHosts().ClusterPolicy("{ maxConcurrentIncoming: 2 }").Plan();

        Assert.Equal(2, plan.MaxConcurrentIncoming);
    }

    [Fact]
    public void MaxConcurrentIncoming_is_null_without_the_key()
    {
        Assert.Null(InventoryBuilder.TwoHosts().Plan().MaxConcurrentIncoming);
        Assert.Null(InventoryBuilder.TwoHosts().ClusterPolicy("{ maxDowntimeMs: 400 }").Plan().MaxConcurrentIncoming);
    }

    [Fact]
    public void MaxConcurrentIncoming_is_the_destinations_cluster_not_the_sources()
    {
        var builder = InventoryBuilder.TwoHosts().ClusterPolicy("{ maxConcurrentIncoming: 1 }")
            .Cluster("dr", "{ maxConcurrentIncoming: 3 }")
            .Host("kvm03", cluster: "dr").Nic("kvm03", "eth0", "192.0.2.13/24", 1)
            .Host("kvm04", cluster: "test").Cluster("test").Nic("kvm04", "eth0", "192.0.2.14/24", 1)
            .Host("kvm05", cluster: null).Nic("kvm05", "eth0", "192.0.2.15/24", 1);

        Assert.Equal(3, builder.Plan(destination: "kvm03").MaxConcurrentIncoming); // web01 is in prod (1): kvm03's cluster counts
        Assert.Null(builder.Plan(destination: "kvm04").MaxConcurrentIncoming);     // its cluster sets no limit
        Assert.Null(builder.Plan(destination: "kvm05").MaxConcurrentIncoming);     // no cluster at all
        Assert.Equal(1, builder.Plan(destination: "kvm02").MaxConcurrentIncoming);
    }
}
