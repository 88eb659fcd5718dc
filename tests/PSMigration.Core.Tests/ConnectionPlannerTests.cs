using PSMigration.Core.Yaml;
using PSMigration.Core.Policies;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

namespace PSMigration.Core.Tests;

/// <summary>DESIGN.md "Connection count", through plans: web01 on kvm01 to kvm02 over one migration
/// link of the given speed.</summary>
public class ConnectionPlannerTests
{
    private static MigrationPlan Plan(double gbps, string? cluster = null, string? vm = null, int vcpus = 64,
        int? pinnedCpus = null, int sourceThreads = 64, int destinationThreads = 64)
    {
        var builder = InventoryBuilder.Bare(sourceThreads, destinationThreads)
            .Link("mig", "migration", gbps)
            .WithVm(vcpus: vcpus, pinnedCpus: pinnedCpus, migration: vm);
        if (cluster is not null) builder.ClusterPolicy(cluster);
        return builder.Plan();
    }

    // ---- Disabled ----------------------------------------------------------------------------

    [Fact]
    public void Disabled_IsOneConnection_WithoutParallel()
    {
        var plan = Plan(100, "{ parallel: Disabled }");
        Assert.Equal(1, plan.Connections);
        Assert.False(plan.Parallel);
        Assert.Equal(ParallelMode.Disabled, plan.ParallelMode);
        Assert.Null(plan.MaxConcurrentOutgoing);
        Assert.Contains(plan.Reasons, r => r.Contains("One connection: parallel is Disabled (from cluster 'prod')"));
    }

    // ---- Parallel: min(floor(bw/10), vcpus, pinned) -> [2, maxConnections] -> min(cpuThreads) ---

    [Fact]
    public void Parallel_CappedByMaxConnections()
    {
        var plan = Plan(100, "{ parallel: Parallel, maxConnections: 8 }", vcpus: 64);
        Assert.Equal(8, plan.Connections);
        Assert.True(plan.Parallel);
        Assert.Contains(plan.Reasons, r => r.Contains("Capped at maxConnections 8"));
    }

    [Fact]
    public void Parallel_DefaultMaxConnectionsIs16()
    {
        var plan = Plan(400, "{ parallel: Parallel }", vcpus: 64);
        Assert.Equal(16, plan.Connections);
    }

    [Fact]
    public void Parallel_LimitedByBandwidth()
    {
        Assert.Equal(10, Plan(100, "{ parallel: Parallel }", vcpus: 64).Connections);
        Assert.Equal(4, Plan(49.9, "{ parallel: Parallel }", vcpus: 64).Connections);
    }

    [Fact]
    public void Parallel_LimitedByPinnedCpus()
    {
        var plan = Plan(100, "{ parallel: Parallel }", vcpus: 64, pinnedCpus: 3);
        Assert.Equal(3, plan.Connections);
        Assert.Contains(plan.Reasons, r => r.Contains("3 pinned CPUs"));
    }

    [Fact]
    public void Parallel_LimitedByVcpus()
    {
        Assert.Equal(5, Plan(100, "{ parallel: Parallel }", vcpus: 5).Connections);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(1)]
    [InlineData(19.99)]
    public void Parallel_RaisedToTwo_OnASlowLink(double gbps)
    {
        var plan = Plan(gbps, "{ parallel: Parallel }");
        Assert.Equal(2, plan.Connections);
        Assert.True(plan.Parallel);
        Assert.Equal(1, plan.MaxConcurrentOutgoing);
        Assert.Contains(plan.Reasons, r => r.Contains("Raised to 2"));
    }

    [Fact]
    public void Parallel_RaisedToTwo_ForASingleVcpu()
    {
        Assert.Equal(2, Plan(100, "{ parallel: Parallel }", vcpus: 1).Connections);
    }

    [Theory]
    [InlineData(64, 4)]
    [InlineData(4, 64)]
    public void Parallel_LoweredToTheFewerCpuThreadsOfTheTwoHosts(int sourceThreads, int destinationThreads)
    {
        var plan = Plan(100, "{ parallel: Parallel }", vcpus: 64, sourceThreads: sourceThreads, destinationThreads: destinationThreads);
        Assert.Equal(4, plan.Connections);
        Assert.Contains(plan.Reasons, r => r.Contains($"Lowered to 4: kvm01 has {sourceThreads} CPU threads, kvm02 {destinationThreads}"));
    }

    [Fact]
    public void Parallel_ThreadClampAppliesAfterMaxConnections()
    {
        // raw 10 -> capped at maxConnections 8 -> lowered to the 6 threads kvm02 has.
        var plan = Plan(100, "{ parallel: Parallel, maxConnections: 8 }", vcpus: 64, destinationThreads: 6);
        Assert.Equal(6, plan.Connections);
    }

    [Fact]
    public void Parallel_BandwidthCapFeedsTheCount()
    {
        var plan = Plan(100, "{ parallel: Parallel, bandwidthGbps: 30 }", vcpus: 64);
        Assert.Equal(30, plan.BandwidthGbps);
        Assert.Equal(3, plan.Connections);
    }

    // ---- Auto ---------------------------------------------------------------------------------

    [Theory]
    [InlineData(10, 64, null)]
    [InlineData(19.9, 64, null)]
    [InlineData(100, 1, null)]
    [InlineData(100, 64, 1)]
    public void Auto_BelowTwoRaw_IsOneConnectionWithoutParallel(double gbps, int vcpus, int? pinned)
    {
        var plan = Plan(gbps, "{ parallel: Auto }", vcpus: vcpus, pinnedCpus: pinned);
        Assert.Equal(1, plan.Connections);
        Assert.False(plan.Parallel);
        Assert.Equal(ParallelMode.Auto, plan.ParallelMode);
        Assert.Null(plan.MaxConcurrentOutgoing);
        Assert.Contains(plan.Reasons, r => r.Contains("is below 2, so parallel is off"));
    }

    [Theory]
    [InlineData(20, 64, null, null, 64, 64)]   // raw 2
    [InlineData(40, 64, null, null, 64, 64)]   // raw 4
    [InlineData(100, 64, 3, null, 64, 64)]     // pinned
    [InlineData(100, 64, null, 8, 64, 64)]     // maxConnections
    [InlineData(400, 64, null, null, 64, 64)]  // default max 16
    [InlineData(100, 64, null, null, 64, 4)]   // destination threads
    [InlineData(100, 6, null, null, 64, 64)]   // vcpus
    public void Auto_AtTwoOrMoreRaw_IsTheSameAsParallel(double gbps, int vcpus, int? pinned, int? maxConnections, int sourceThreads, int destinationThreads)
    {
        var max = maxConnections is null ? "" : $", maxConnections: {maxConnections}";
        var auto = Plan(gbps, $"{{ parallel: Auto{max} }}", vcpus: vcpus, pinnedCpus: pinned, sourceThreads: sourceThreads, destinationThreads: destinationThreads);
        var parallel = Plan(gbps, $"{{ parallel: Parallel{max} }}", vcpus: vcpus, pinnedCpus: pinned, sourceThreads: sourceThreads, destinationThreads: destinationThreads);
        Assert.True(auto.Parallel);
        Assert.True(auto.Connections >= 2);
        Assert.Equal(parallel.Connections, auto.Connections);
        Assert.Equal(1, auto.MaxConcurrentOutgoing);
    }

    [Fact]
    public void Auto_IsTheDefaultForAClusterWithoutAPolicy()
    {
        var plan = Plan(40);
        Assert.Equal(ParallelMode.Auto, plan.ParallelMode);
        Assert.Equal(4, plan.Connections);
        Assert.True(plan.Parallel);
        Assert.Equal(MigrationTransport.Direct, plan.Transport);
        Assert.Equal(300, plan.MaxDowntimeMs);
        Assert.Equal(CompressionMethod.None, plan.Compression);
        Assert.False(plan.Postcopy);
        Assert.Contains(plan.Reasons, r => r.Contains("(from default)"));
    }

    [Fact]
    public void AutoWithPostcopy_TurnsParallelOff()
    {
        var plan = Plan(100, "{ parallel: Auto, postcopy: true }");
        Assert.Equal(1, plan.Connections);
        Assert.False(plan.Parallel);
        Assert.True(plan.Postcopy);
        Assert.Null(plan.MaxConcurrentOutgoing);
        Assert.Contains(plan.Reasons, r => r.Contains("postcopy is on"));
    }

    [Fact]
    public void AutoWithXbzrle_TurnsParallelOff_AndKeepsXbzrle()
    {
        var plan = Plan(100, "{ parallel: Auto, compression: xbzrle }");
        Assert.Equal(1, plan.Connections);
        Assert.False(plan.Parallel);
        Assert.Equal(CompressionMethod.Xbzrle, plan.Compression);
        Assert.Contains(plan.Reasons, r => r.Contains("xbzrle"));
    }

    [Fact]
    public void DisabledWithPostcopy_KeepsPostcopy()
    {
        var plan = Plan(100, "{ parallel: Disabled, postcopy: true }");
        Assert.True(plan.Postcopy);
        Assert.False(plan.Parallel);
    }

    // ---- Custom -------------------------------------------------------------------------------

    [Fact]
    public void Custom_UsesTheGivenCount_WhateverTheLink()
    {
        var plan = Plan(1, "{ parallel: Custom, connections: 6 }", vcpus: 2);
        Assert.Equal(6, plan.Connections);
        Assert.True(plan.Parallel);
        Assert.Equal(ParallelMode.Custom, plan.ParallelMode);
        Assert.Equal(1, plan.MaxConcurrentOutgoing);
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void Custom_AboveTheHostsThreads_IsLoweredWithAWarning()
    {
        var plan = Plan(10, "{ parallel: Custom, connections: 12 }", sourceThreads: 8, destinationThreads: 32);
        Assert.Equal(8, plan.Connections);
        Assert.Contains(plan.Warnings, w => w.Contains("connections lowered from 12 to 8: kvm01 has 8 CPU threads, kvm02 32"));
    }

    [Fact]
    public void Custom_AboveSixteen_IsAWarning()
    {
        var plan = Plan(10, "{ parallel: Custom, connections: 20 }");
        Assert.Equal(20, plan.Connections);
        var warning = Assert.Single(plan.Warnings);
        Assert.Contains("20 connections is more than 16", warning);
    }

    [Fact]
    public void Custom_AtSixteen_NoWarning()
    {
        Assert.Empty(Plan(10, "{ parallel: Custom, connections: 16 }").Warnings);
    }

    // ---- compression ---------------------------------------------------------------------------

    [Theory]
    [InlineData("{ parallel: Disabled, compression: zlib }", "zlib")]
    [InlineData("{ parallel: Disabled, compression: zstd }", "zstd")]
    [InlineData("{ parallel: Auto, compression: zstd }", "zstd")] // 10 Gbps: Auto stays at one connection
    public void MultifdCompressionWithParallelOff_IsNone_WithAWarning(string policy, string method)
    {
        var plan = Plan(10, policy);
        Assert.False(plan.Parallel);
        Assert.Equal(CompressionMethod.None, plan.Compression);
        Assert.Contains(plan.Warnings, w => w.Contains($"compression {method} is multifd compression and is ignored"));
    }

    [Theory]
    [InlineData("{ parallel: Parallel, compression: zstd }", "zstd")]
    [InlineData("{ parallel: Custom, connections: 4, compression: zlib }", "zlib")]
    [InlineData("{ parallel: Auto, compression: zstd }", "zstd")] // 100 Gbps: Auto goes parallel
    public void MultifdCompressionWithParallelOn_IsKept(string policy, string method)
    {
        var plan = Plan(100, policy);
        Assert.True(plan.Parallel);
        Assert.Equal(method, Spelling.Of(plan.Compression));
        Assert.DoesNotContain(plan.Warnings, w => w.Contains("compression"));
    }

    [Fact]
    public void XbzrleWithDisabled_IsKept()
    {
        var plan = Plan(10, "{ parallel: Disabled, compression: xbzrle }");
        Assert.Equal(CompressionMethod.Xbzrle, plan.Compression);
        Assert.Empty(plan.Warnings);
    }

    // ---- inheritance ---------------------------------------------------------------------------

    [Fact]
    public void VmOverride_InheritsTheOtherKeysFromTheCluster()
    {
        var plan = Plan(100, "{ parallel: Parallel, maxConnections: 4, transport: engine }", vm: "{ compression: zstd }");
        Assert.Equal(ParallelMode.Parallel, plan.ParallelMode);
        Assert.Equal(4, plan.Connections);
        Assert.Equal(CompressionMethod.Zstd, plan.Compression);
        Assert.Equal(MigrationTransport.Engine, plan.Transport);
    }

    [Fact]
    public void VmParallelCluster_InheritsTheClusterMode()
    {
        var plan = Plan(100, "{ parallel: Disabled }", vm: "{ parallel: Cluster, maxDowntimeMs: 500 }");
        Assert.Equal(ParallelMode.Disabled, plan.ParallelMode);
        Assert.Equal(1, plan.Connections);
        Assert.False(plan.Parallel);
        Assert.Equal(500, plan.MaxDowntimeMs);
        Assert.Contains(plan.Reasons, r => r.Contains("parallel is Disabled (from cluster 'prod')"));
    }

    [Fact]
    public void VmOverride_WinsOverTheCluster()
    {
        var plan = Plan(100, "{ parallel: Disabled, maxConnections: 4 }", vm: "{ parallel: Parallel, maxConnections: 6 }");
        Assert.Equal(ParallelMode.Parallel, plan.ParallelMode);
        Assert.Equal(6, plan.Connections);
        Assert.Contains(plan.Reasons, r => r.Contains("parallel is Parallel (from VM 'web01')"));
    }

    [Fact]
    public void VmCustomConnections_UnderACustomCluster()
    {
        var plan = Plan(10, "{ parallel: Custom, connections: 8 }", vm: "{ connections: 3 }");
        Assert.Equal(3, plan.Connections);
    }

    [Fact]
    public void SampleVms_FollowTheirPolicies()
    {
        var inventory = InventoryLoader.LoadSample();
        var web = MigrationPlanner.Plan(inventory, "web01", "kvm02"); // Auto over 10 Gbps: raw 1
        Assert.Equal(1, web.Connections);
        Assert.False(web.Parallel);
        Assert.Equal(EncryptionMode.Tls, web.Encryption);

        var db = MigrationPlanner.Plan(inventory, "db01", "kvm02"); // Custom 4
        Assert.Equal(4, db.Connections);
        Assert.True(db.Parallel);
        Assert.Equal(500, db.MaxDowntimeMs);
        Assert.Equal(1, db.MaxConcurrentOutgoing);

        var build = MigrationPlanner.Plan(inventory, "build01", "kvm01"); // Disabled + xbzrle
        Assert.Equal(1, build.Connections);
        Assert.Equal(CompressionMethod.Xbzrle, build.Compression);
        Assert.Null(build.MaxConcurrentOutgoing);
    }
}
