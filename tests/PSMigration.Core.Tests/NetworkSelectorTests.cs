using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

namespace PSMigration.Core.Tests;

/// <summary>DESIGN.md "Planning rules", network selection 1 to 6, through
/// <see cref="MigrationPlanner.Plan"/> (web01 on kvm01 to kvm02 unless said otherwise).</summary>
public class NetworkSelectorTests
{
    private static string ReasonFor(MigrationPlan plan, string network) =>
        Assert.Single(plan.Rejected, r => r.Network == network).Reason;

    // ---- rule 1: shared networks ---------------------------------------------------------------

    [Fact]
    public void PlanNamesBothEndsOfTheChosenNetwork()
    {
        var plan = InventoryBuilder.Bare().Link("lan", "management", 1).Plan();
        Assert.Equal("web01", plan.Vm);
        Assert.Equal("kvm01", plan.SourceHost);
        Assert.Equal("kvm02", plan.DestinationHost);
        Assert.Equal("lan", plan.Network);
        Assert.Equal("lan", plan.SourceInterface);
        Assert.Equal("10.1.0.11", plan.SourceAddress.ToString());
        Assert.Equal("lan", plan.DestinationInterface);
        Assert.Equal("10.1.0.12", plan.DestinationAddress.ToString());
        Assert.Equal(49152, plan.DestinationPort);
        Assert.Equal(1, plan.BandwidthGbps);
        Assert.Equal("inv.yaml", plan.InventoryPath);
        Assert.Empty(plan.Rejected);
    }

    [Fact]
    public void NetworkOnOneHostOnly_IsNotShared()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Link("mig", "migration", 10, onHosts: ["kvm01"])
            .Plan();
        Assert.Equal("lan", plan.Network);
        Assert.Equal("not on kvm02: no interface has an address in 10.2.0.0/24", ReasonFor(plan, "mig"));
    }

    [Fact]
    public void NetworkMissingOnTheSource_IsNotShared()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Link("mig", "migration", 10, onHosts: ["kvm02"])
            .Plan();
        Assert.Equal("lan", plan.Network);
        Assert.StartsWith("not on kvm01", ReasonFor(plan, "mig"));
    }

    [Theory]
    [InlineData("kvm01")]
    [InlineData("kvm02")]
    public void NetworkWhoseInterfaceIsDown_IsNotShared(string downHost)
    {
        var other = downHost == "kvm01" ? "kvm02" : "kvm01";
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Network("mig", "198.51.100.0/24", "migration")
            .Nic(downHost, "ens3", $"198.51.100.{(downHost == "kvm01" ? 11 : 12)}/24", 10, "state: down")
            .Nic(other, "ens3", $"198.51.100.{(other == "kvm01" ? 11 : 12)}/24", 10)
            .Plan();
        Assert.Equal("lan", plan.Network);
        Assert.Equal($"interface ens3 on {downHost} is down", ReasonFor(plan, "mig"));
    }

    [Fact]
    public void AnUpInterfaceCarriesTheNetwork_WhenAFasterOneOnItIsDown()
    {
        var plan = InventoryBuilder.Bare()
            .Network("mig", "198.51.100.0/24", "migration")
            .Nic("kvm01", "ens3", "198.51.100.11/24", 100, "state: down")
            .Nic("kvm01", "ens4", "198.51.100.21/24", 10)
            .Nic("kvm02", "ens3", "198.51.100.12/24", 10)
            .Plan();
        Assert.Equal("mig", plan.Network);
        Assert.Equal("ens4", plan.SourceInterface);
        Assert.Equal("198.51.100.21", plan.SourceAddress.ToString());
        Assert.Equal(10, plan.BandwidthGbps);
    }

    [Fact]
    public void OfTwoUpInterfacesOnTheNetwork_TheFasterIsUsed()
    {
        var plan = InventoryBuilder.Bare()
            .Network("mig", "198.51.100.0/24", "migration")
            .Nic("kvm01", "ens3", "198.51.100.11/24", 10)
            .Nic("kvm01", "ens4", "198.51.100.21/24", 25)
            .Nic("kvm02", "ens3", "198.51.100.12/24", 25)
            .Plan();
        Assert.Equal("ens4", plan.SourceInterface);
        Assert.Equal(25, plan.BandwidthGbps);
    }

    // ---- rule 2: an explicit network wins ------------------------------------------------------

    [Fact]
    public void ExplicitNetwork_WinsOverTheMigrationNetwork()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Link("mig", "migration", 10, ["priority: 1"])
            .Plan(network: "lan");
        Assert.Equal("lan", plan.Network);
        Assert.Contains(plan.Reasons, r => r.Contains("Chose 'lan': requested by name"));
        Assert.Equal("not requested ('lan' was asked for by name)", ReasonFor(plan, "mig"));
        Assert.Empty(plan.Warnings);
    }

    [Theory]
    [InlineData("storage")]
    [InlineData("cluster")]
    public void ExplicitStorageOrClusterNetwork_IsUsed_WithAWarning(string role)
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Link("closed", role, 10)
            .Plan(network: "closed");
        Assert.Equal("closed", plan.Network);
        Assert.Equal(10, plan.BandwidthGbps);
        var warning = Assert.Single(plan.Warnings);
        Assert.Contains($"'closed' is a {role} network", warning);
    }

    [Fact]
    public void ExplicitStorageNetworkOpenToMigrations_HasNoWarning()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Link("iscsi", "storage", 10, ["allowMigration: true"])
            .Plan(network: "iscsi");
        Assert.Equal("iscsi", plan.Network);
        Assert.Empty(plan.Warnings);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("state: down")]
    public void ExplicitNetworkNotShared_IsNetworkNotShared(string? kvm02State)
    {
        var builder = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Network("mig", "198.51.100.0/24", "migration")
            .Nic("kvm01", "ens3", "198.51.100.11/24", 10);
        if (kvm02State is not null) builder.Nic("kvm02", "ens3", "198.51.100.12/24", 10, kvm02State);
        var e = Assert.Throws<PlanningException>(() => builder.Plan(network: "mig"));
        Assert.Equal("NetworkNotShared", e.ErrorId);
        Assert.Equal(FailureKind.OperationFailed, e.Kind);
        Assert.Equal("mig", e.Target);
        Assert.Contains("Network 'mig' cannot carry a migration from kvm01 to kvm02", e.Message);
        Assert.Contains(kvm02State is null ? "not on kvm02" : "interface ens3 on kvm02 is down", e.Message);
    }

    [Fact]
    public void UnknownExplicitNetwork_IsNetworkNotFound_WithDidYouMean()
    {
        var builder = InventoryBuilder.Bare().Link("lan", "management", 1).Link("mig", "migration", 10);
        var e = Assert.ThrowsAny<MigrationException>(() => builder.Plan(network: "mgi"));
        Assert.Equal("NetworkNotFound", e.ErrorId);
        Assert.Equal(FailureKind.NotFound, e.Kind);
        Assert.Contains("There is no network 'mgi'", e.Message);
        Assert.Contains("did you mean 'mig'?", e.Message);
    }

    // ---- rule 3: the migration network with the lowest priority number -------------------------

    [Fact]
    public void MigrationNetworkWithLowestPriority_WinsEvenWhenSlower()
    {
        var plan = InventoryBuilder.Bare()
            .Link("mig-fast", "migration", 100, ["priority: 5"])
            .Link("mig-slow", "migration", 10, ["priority: 1"])
            .Plan();
        Assert.Equal("mig-slow", plan.Network);
        Assert.Equal(10, plan.BandwidthGbps);
        Assert.Contains(plan.Reasons, r => r.Contains("lowest priority number (1)"));
        Assert.Equal("lower priority: 5, 'mig-slow' has 1", ReasonFor(plan, "mig-fast"));
    }

    [Fact]
    public void ExplicitPriority_BeatsTheDefaultOf100()
    {
        var plan = InventoryBuilder.Bare()
            .Link("mig-default", "migration", 40)
            .Link("mig-99", "migration", 10, ["priority: 99"])
            .Plan();
        Assert.Equal("mig-99", plan.Network);
        Assert.Equal("lower priority: 100, 'mig-99' has 99", ReasonFor(plan, "mig-default"));
    }

    [Fact]
    public void TieOnPriority_TheFasterWins()
    {
        var plan = InventoryBuilder.Bare()
            .Link("mig-a", "migration", 10, ["priority: 1"])
            .Link("mig-b", "migration", 25, ["priority: 1"])
            .Plan();
        Assert.Equal("mig-b", plan.Network);
        Assert.Equal(25, plan.BandwidthGbps);
        Assert.Equal("slower: 10 Gbps, 'mig-b' has 25 Gbps", ReasonFor(plan, "mig-a"));
    }

    [Fact]
    public void MigrationNetwork_BeatsAFasterManagementNetwork()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 100)
            .Link("mig", "migration", 10)
            .Plan();
        Assert.Equal("mig", plan.Network);
        Assert.Equal("management network; the migration network 'mig' is preferred", ReasonFor(plan, "lan"));
    }

    [Fact]
    public void MigrationNetworkWithAllowMigrationFalse_IsNotPicked()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Link("mig", "migration", 10, ["allowMigration: false"])
            .Plan();
        Assert.Equal("lan", plan.Network);
        Assert.Equal("allowMigration is false", ReasonFor(plan, "mig"));
    }

    // ---- rule 4: else the fastest management/vm network, or one with allowMigration: true -------

    [Fact]
    public void NoMigrationNetwork_TheFastestManagementOrVmNetworkWins()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Link("guests", "vm", 10)
            .Link("iscsi", "storage", 40)
            .Link("corosync", "cluster", 25)
            .Plan();
        Assert.Equal("guests", plan.Network);
        Assert.Equal(10, plan.BandwidthGbps);
        Assert.Contains(plan.Reasons, r => r.Contains("Chose 'guests' (vm): no shared migration network"));
        Assert.Equal("slower: 1 Gbps, 'guests' has 10 Gbps", ReasonFor(plan, "lan"));
        Assert.Equal("storage network: used for migrations only with allowMigration: true", ReasonFor(plan, "iscsi"));
        Assert.Equal("cluster network: used for migrations only with allowMigration: true", ReasonFor(plan, "corosync"));
    }

    [Fact]
    public void ManagementNetwork_IsPickedWhenFastest()
    {
        var plan = InventoryBuilder.Bare()
            .Link("guests", "vm", 1)
            .Link("lan", "management", 10)
            .Plan();
        Assert.Equal("lan", plan.Network);
    }

    [Fact]
    public void StorageNetworkWithAllowMigrationTrue_CanBePicked()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Link("iscsi", "storage", 40, ["allowMigration: true"])
            .Plan();
        Assert.Equal("iscsi", plan.Network);
        Assert.Empty(plan.Warnings);
        Assert.Equal("slower: 1 Gbps, 'iscsi' has 40 Gbps", ReasonFor(plan, "lan"));
    }

    [Theory]
    [InlineData("storage")]
    [InlineData("cluster")]
    public void StorageAndClusterNetworks_AreNeverPickedSilently_EvenWhenFaster(string role)
    {
        var plan = InventoryBuilder.Bare()
            .Link("closed", role, 100)
            .Link("lan", "management", 1)
            .Plan();
        Assert.Equal("lan", plan.Network);
        Assert.Equal($"{role} network: used for migrations only with allowMigration: true", ReasonFor(plan, "closed"));
    }

    [Fact]
    public void AllowMigrationFalse_ExcludesAManagementNetwork()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 10, ["allowMigration: false"])
            .Link("guests", "vm", 1)
            .Plan();
        Assert.Equal("guests", plan.Network);
        Assert.Equal("allowMigration is false", ReasonFor(plan, "lan"));
    }

    // ---- rule 5: no candidate ------------------------------------------------------------------

    [Fact]
    public void NoCandidate_IsNoMigrationNetwork_ListingEveryNetworkAndWhy()
    {
        var builder = InventoryBuilder.Bare()
            .Link("iscsi", "storage", 10)
            .Link("corosync", "cluster", 1)
            .Link("lan", "management", 1, ["allowMigration: false"])
            .Link("solo", "migration", 10, onHosts: ["kvm01"])
            .Network("dead", "198.51.100.0/24", "migration")
            .Nic("kvm01", "dead", "198.51.100.11/24", 10)
            .Nic("kvm02", "dead", "198.51.100.12/24", 10, "state: down");
        var e = Assert.Throws<PlanningException>(() => builder.Plan());
        Assert.Equal("NoMigrationNetwork", e.ErrorId);
        Assert.Equal(FailureKind.OperationFailed, e.Kind);
        Assert.Contains("No network can carry a migration from kvm01 to kvm02", e.Message);
        Assert.Contains("iscsi: storage network: used for migrations only with allowMigration: true", e.Message);
        Assert.Contains("corosync: cluster network: used for migrations only with allowMigration: true", e.Message);
        Assert.Contains("lan: allowMigration is false", e.Message);
        Assert.Contains("solo: not on kvm02", e.Message);
        Assert.Contains("dead: interface dead on kvm02 is down", e.Message);
        Assert.Contains("-Network", e.Message);
    }

    [Fact]
    public void HostsWithNoNetworkAtAll_IsNoMigrationNetwork()
    {
        var e = Assert.Throws<PlanningException>(() => InventoryBuilder.Bare().Plan());
        Assert.Equal("NoMigrationNetwork", e.ErrorId);
    }

    [Fact]
    public void NoCandidate_StillAllowsAnExplicitSharedNetwork()
    {
        var plan = InventoryBuilder.Bare().Link("iscsi", "storage", 10).Plan(network: "iscsi");
        Assert.Equal("iscsi", plan.Network);
    }

    // ---- "rejected": every other network, with why ----------------------------------------------

    [Fact]
    public void Rejected_ListsEveryOtherNetworkOnce_InInventoryOrder()
    {
        var plan = InventoryBuilder.Bare()
            .Link("lan", "management", 1)
            .Link("corosync", "cluster", 1)
            .Link("iscsi", "storage", 10)
            .Link("mig", "migration", 10, ["priority: 1"])
            .Link("mig2", "migration", 10, ["priority: 2"])
            .Link("solo", "vm", 10, onHosts: ["kvm02"])
            .Plan();
        Assert.Equal("mig", plan.Network);
        Assert.Equal(["lan", "corosync", "iscsi", "mig2", "solo"], plan.Rejected.Select(r => r.Network));
        Assert.Equal("management network; the migration network 'mig' is preferred", ReasonFor(plan, "lan"));
        Assert.Equal("cluster network: used for migrations only with allowMigration: true", ReasonFor(plan, "corosync"));
        Assert.Equal("storage network: used for migrations only with allowMigration: true", ReasonFor(plan, "iscsi"));
        Assert.Equal("lower priority: 2, 'mig' has 1", ReasonFor(plan, "mig2"));
        Assert.Equal("not on kvm01: no interface has an address in 10.6.0.0/24", ReasonFor(plan, "solo"));
    }

    [Fact]
    public void Sample_Kvm01ToKvm02_UsesTheMigrationNetwork()
    {
        var plan = MigrationPlanner.Plan(InventoryLoader.LoadSample(), "web01", "kvm02");
        Assert.Equal("mig", plan.Network);
        Assert.Equal("ens3f0", plan.SourceInterface);
        Assert.Equal("198.51.100.11", plan.SourceAddress.ToString());
        Assert.Equal("198.51.100.12", plan.DestinationAddress.ToString());
        Assert.Equal(10, plan.BandwidthGbps);
        Assert.Equal(["lan", "corosync", "iscsi-a", "iscsi-b"], plan.Rejected.Select(r => r.Network));
        Assert.Contains("storage network", ReasonFor(plan, "iscsi-a"));
        Assert.Contains("cluster network", ReasonFor(plan, "corosync"));
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void Sample_Kvm01ToKvm03_FallsBackToTheBondedLan()
    {
        var plan = MigrationPlanner.Plan(InventoryLoader.LoadSample(), "web01", "kvm03");
        Assert.Equal("lan", plan.Network);
        Assert.Equal("bond0", plan.SourceInterface);
        Assert.Equal("192.0.2.13", plan.DestinationAddress.ToString());
        Assert.Equal(2, plan.BandwidthGbps); // 802.3ad, 2 x 1 Gbps on both ends
        Assert.Equal(["corosync", "iscsi-a", "iscsi-b", "mig"], plan.Rejected.Select(r => r.Network));
        Assert.StartsWith("not on kvm03", ReasonFor(plan, "mig"));
        Assert.Contains(plan.Reasons, r => r.Contains("uses one member only")); // one connection over a LACP bond
    }

    // ---- rule 6: bandwidth ---------------------------------------------------------------------

    [Theory]
    [InlineData(25, 10, 10)]
    [InlineData(10, 25, 10)]
    [InlineData(2.5, 40, 2.5)]
    public void Bandwidth_IsTheSlowerEnd(double sourceGbps, double destinationGbps, double expected)
    {
        var plan = InventoryBuilder.Bare()
            .Network("mig", "198.51.100.0/24", "migration")
            .Nic("kvm01", "ens3", "198.51.100.11/24", sourceGbps)
            .Nic("kvm02", "ens3", "198.51.100.12/24", destinationGbps)
            .Plan();
        Assert.Equal(expected, plan.BandwidthGbps);
        Assert.Contains(plan.Reasons, r => r.StartsWith($"Bandwidth {expected.ToString(System.Globalization.CultureInfo.InvariantCulture)} Gbps: the slower end"));
    }

    [Theory]
    [InlineData("802.3ad", 2, 10, 20)]
    [InlineData("balance-rr", 4, 1, 4)]
    [InlineData("balance-xor", 3, 1, 3)]
    [InlineData("balance-tlb", 2, 10, 20)]
    [InlineData("balance-alb", 2, 25, 50)]
    [InlineData("active-backup", 2, 10, 10)]
    [InlineData("active-backup", 4, 1, 1)]
    public void Bonds_CountTheirMembersByMode(string mode, int members, double perMember, double expected)
    {
        var list = string.Join(", ", Enumerable.Range(1, members).Select(i => $"eth{i}"));
        var plan = InventoryBuilder.Bare()
            .Link("mig", "migration", perMember, nicExtra: [$"bond: {{ mode: {mode}, members: [{list}] }}"])
            .Plan();
        Assert.Equal(expected, plan.BandwidthGbps);
    }

    [Fact]
    public void BondOnOneEndOnly_TheSlowerEndStillDecides()
    {
        var plan = InventoryBuilder.Bare()
            .Network("mig", "198.51.100.0/24", "migration")
            .Nic("kvm01", "bond0", "198.51.100.11/24", 10, "bond: { mode: 802.3ad, members: [a, b] }")
            .Nic("kvm02", "ens3", "198.51.100.12/24", 10)
            .Plan();
        Assert.Equal(10, plan.BandwidthGbps);
    }

    [Fact]
    public void BondedNetwork_BeatsAFasterSingleMemberWhenItAddsUp()
    {
        // No migration network: lan is 2 x 10 (LACP) = 20 Gbps, guests 1 x 15 Gbps.
        var plan = InventoryBuilder.Bare()
            .Link("guests", "vm", 15)
            .Link("lan", "management", 10, nicExtra: ["bond: { mode: 802.3ad, members: [a, b] }"])
            .Plan();
        Assert.Equal("lan", plan.Network);
        Assert.Equal(20, plan.BandwidthGbps);
    }

    [Theory]
    [InlineData("{ bandwidthGbps: 2.5 }", null, 2.5, "cluster 'prod'")]
    [InlineData(null, "{ bandwidthGbps: 1 }", 1, "VM 'web01'")]
    [InlineData("{ bandwidthGbps: 5 }", "{ bandwidthGbps: 3 }", 3, "VM 'web01'")]
    public void PolicyBandwidthCap_LowersTheBandwidth_AndSaysSo(string? cluster, string? vm, double expected, string source)
    {
        var builder = InventoryBuilder.Bare().Link("mig", "migration", 10);
        if (cluster is not null) builder.ClusterPolicy(cluster);
        if (vm is not null) builder.WithVm(migration: vm);
        var plan = builder.Plan();
        Assert.Equal(expected, plan.BandwidthGbps);
        var g = expected.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(plan.Reasons, r => r.Contains($"Capped at {g} Gbps by bandwidthGbps (from {source})"));
    }

    [Fact]
    public void PolicyBandwidthCapAboveTheLink_ChangesNothing()
    {
        var plan = InventoryBuilder.Bare().Link("mig", "migration", 10).ClusterPolicy("{ bandwidthGbps: 40 }").Plan();
        Assert.Equal(10, plan.BandwidthGbps);
        Assert.DoesNotContain(plan.Reasons, r => r.Contains("Capped"));
    }

    [Fact]
    public void MtuMismatch_IsAWarning()
    {
        var plan = InventoryBuilder.Bare()
            .Network("mig", "198.51.100.0/24", "migration")
            .Nic("kvm01", "ens3", "198.51.100.11/24", 10, "mtu: 9000")
            .Nic("kvm02", "ens4", "198.51.100.12/24", 10)
            .Plan();
        Assert.Equal("mig", plan.Network);
        var warning = Assert.Single(plan.Warnings, w => w.Contains("MTU"));
        Assert.Contains("MTU differs on 'mig'", warning);
        Assert.Contains("kvm01 ens3 has 9000", warning);
        Assert.Contains("kvm02 ens4 has 1500", warning);
    }

    [Fact]
    public void SameMtu_NoWarning()
    {
        var plan = InventoryBuilder.Bare().Link("mig", "migration", 10, nicExtra: ["mtu: 9000"]).Plan();
        Assert.DoesNotContain(plan.Warnings, w => w.Contains("MTU"));
    }

    // ---- requests that make no sense -----------------------------------------------------------

    [Fact]
    public void SameSourceAndDestination_IsSameHost()
    {
        var builder = InventoryBuilder.Bare().Link("lan", "management", 1);
        var e = Assert.ThrowsAny<MigrationException>(() => builder.Plan(destination: "kvm01"));
        Assert.Equal("SameHost", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Contains("already on kvm01", e.Message);
    }

    [Fact]
    public void UnknownVm_IsVmNotFound()
    {
        var builder = InventoryBuilder.Bare().Link("lan", "management", 1);
        var e = Assert.ThrowsAny<MigrationException>(() => builder.Plan(vm: "web1"));
        Assert.Equal("VMNotFound", e.ErrorId);
        Assert.Equal(FailureKind.NotFound, e.Kind);
        Assert.Contains("did you mean 'web01'?", e.Message);
    }

    [Fact]
    public void UnknownDestination_IsHostNotFound()
    {
        var builder = InventoryBuilder.Bare().Link("lan", "management", 1);
        var e = Assert.ThrowsAny<MigrationException>(() => builder.Plan(destination: "kvm03"));
        Assert.Equal("HostNotFound", e.ErrorId);
    }
}
