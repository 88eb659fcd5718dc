using System.Text;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Tests;

/// <summary>Every kind of inventory error is reported with its exact file:line:column and a message
/// that says what is wrong (DESIGN.md "Inventory contract").</summary>
public class InventoryErrorTests
{
    /// <summary>lan 192.0.2.0/24; cluster prod; kvm01 eth0 .11, kvm02 eth0 .12 (1 Gbps); web01 on kvm01.</summary>
    private static readonly string Base = InventoryBuilder.TwoHosts().Yaml();

    [Fact]
    public void TheBaseInventoryIsValid()
    {
        var inventory = InventoryLoader.Parse(Base, "inv.yaml");
        Assert.Equal(["kvm01", "kvm02"], inventory.Hosts.Select(h => h.Name));
        Assert.Empty(inventory.Warnings);
    }

    // ---- YAML itself ----------------------------------------------------------------------------

    [Fact]
    public void YamlSyntaxError_IsReportedWhereTheParserStopped()
    {
        var text = Yaml.ReplaceOnce(Base, "role: management", "role: management: x");
        Yaml.AssertSingleError(text, Yaml.Pos(text, ": x"), "not valid YAML", "a ': ' inside a plain value: put the whole value in quotes");
    }

    [Fact]
    public void UnterminatedQuotedString_IsAYamlError_AtItsOpeningQuote()
    {
        var text = Yaml.ReplaceOnce(Base, "cidr: 192.0.2.0/24", "cidr: \"192.0.2.0/24");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "cidr: \"192"), "not valid YAML", "double-quoted text that starts here is never closed");
    }

    [Fact]
    public void UnclosedFlowMapping_PointsAtItsBrace_InYamlTerms()
    {
        // YamlDotNet 16 throws InvalidOperationException ("Operation is not valid due to the current state of
        // the object") on this input: the loader must say what is wrong, at the '{'.
        var text = Yaml.ReplaceOnce(Base, "  - name: lan\n    cidr: 192.0.2.0/24\n    role: management\n",
            "  - { name: lan, cidr: 192.0.2.0/24, role: management\n");
        Yaml.AssertSingleError(text, Yaml.Pos(text, "{ name: lan"), "not valid YAML: the '{' here opens a mapping that is never closed: a '}' is missing");
        Assert.DoesNotContain("Operation is not valid", Yaml.LoadFails(text).Message);
    }

    [Theory]
    [InlineData("../../etc/cron.d/x")]
    [InlineData("web 01")]
    [InlineData(".hidden")]
    public void VmName_ThatIsNotAPlainFileName_IsRefusedAtItsName(string name)
    {
        // a VM's name names its files on every host (pid file, log, twin folder) and travels to the agents
        var text = Yaml.ReplaceOnce(Base, "name: web01", $"name: \"{name}\"");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, $"name: \"{name}"), $"VM name '{name}' must be letters, digits, '.', '-' and '_'");
    }

    [Fact]
    public void DuplicateKey_PointsAtTheSecondKey()
    {
        var text = Yaml.ReplaceOnce(Base, "    vcpus: 8\n", "    vcpus: 8\n    vcpus: 4\n");
        Yaml.AssertSingleError(text, Yaml.Pos(text, "vcpus: 4"), "duplicate key 'vcpus'");
    }

    [Fact]
    public void EveryDuplicateKey_IsReported()
    {
        var text = Yaml.ReplaceOnce(Base, "    vcpus: 8\n", "    vcpus: 8\n    vcpus: 4\n");
        text = Yaml.ReplaceOnce(text, "    role: management\n", "    role: management\n    role: vm\n");
        var e = Yaml.LoadFails(text);
        Yaml.AssertError(e, Yaml.Pos(text, "role: vm"), "duplicate key 'role'");
        Yaml.AssertError(e, Yaml.Pos(text, "vcpus: 4"), "duplicate key 'vcpus'");
        Assert.Equal(2, e.Problems.Count);
    }

    [Fact]
    public void AnchorsAndAliases_AreFollowed()
    {
        var text = Yaml.ReplaceOnce(Base, "[192.0.2.11/24]\n        speedGbps: 1", "[192.0.2.11/24]\n        speedGbps: &lan 2.5");
        text = Yaml.ReplaceOnce(text, "[192.0.2.12/24]\n        speedGbps: 1", "[192.0.2.12/24]\n        speedGbps: *lan");
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        Assert.Equal(2.5, inventory.Host("kvm02").Interfaces.Single().SpeedGbps);
    }

    [Fact]
    public void AliasToAnUnknownAnchor_IsAYamlError()
    {
        var text = Yaml.ReplaceOnce(Base, "[192.0.2.12/24]\n        speedGbps: 1", "[192.0.2.12/24]\n        speedGbps: *nothing");
        var e = Yaml.LoadFails(text);
        var problem = Assert.Single(e.Problems);
        Assert.Equal(Yaml.ValuePos(text, "speedGbps: *nothing").Line, problem.Location.Line);
    }

    [Fact]
    public void EmptyFile_IsAnError()
    {
        var e = Yaml.LoadFails("# nothing here\n");
        Yaml.AssertError(e, (1, 1), "empty");
    }

    // ---- unknown keys, with did-you-mean ----------------------------------------------------------

    [Fact]
    public void UnknownTopLevelKey_SuggestsTheClosest()
    {
        var text = Base + "host: []\n";
        Yaml.AssertSingleError(text, Yaml.Pos(text, "host: []"), "unknown key 'host' in the inventory", "did you mean 'hosts'?");
    }

    [Fact]
    public void UnknownHostKey_SuggestsCpuThreads_AndTheMissingKeyIsReportedToo()
    {
        var text = Yaml.ReplaceOnce(Base, "  - name: kvm02\n    cluster: prod\n    cpuThreads: 32",
            "  - name: kvm02\n    cluster: prod\n    cpuThread: 32");
        var e = Yaml.LoadFails(text);
        Yaml.AssertError(e, Yaml.Pos(text, "cpuThread:"), "unknown key 'cpuThread' in host 'kvm02'", "did you mean 'cpuThreads'?");
        Yaml.AssertError(e, Yaml.Pos(text, "name: kvm02"), "host 'kvm02' needs 'cpuThreads'");
        Assert.Equal(2, e.Problems.Count);
    }

    [Fact]
    public void UnknownInterfaceKey_SuggestsTheClosest()
    {
        var text = Yaml.ReplaceOnce(Base, "        speedGbps: 1\nvms:", "        speedGbps: 1\n        mut: 9000\nvms:");
        Yaml.AssertSingleError(text, Yaml.Pos(text, "mut: 9000"),
            "unknown key 'mut' in interface 'eth0' of host 'kvm02'", "did you mean 'mtu'?");
    }

    [Fact]
    public void UnknownPolicyKey_SuggestsTheClosest()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: Auto, maxConnection: 8 }").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, "maxConnection:"),
            "unknown key 'maxConnection' in the migration policy of cluster 'prod'", "did you mean 'maxConnections'?");
    }

    [Fact]
    public void UnknownVmPolicyKey_SuggestsTheClosest()
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: "{ postcopi: true }").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, "postcopi:"),
            "unknown key 'postcopi' in the migration policy of VM 'web01'", "did you mean 'postcopy'?");
    }

    [Fact]
    public void UnknownBondKey_SuggestsTheClosest()
    {
        var text = InventoryBuilder.TwoHosts()
            .Nic("kvm02", "bond0", "198.51.100.12/24", 10, "bond: { mode: 802.3ad, members: [a, b], miimon: 100 }").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, "miimon:"), "unknown key 'miimon' in the bond of interface 'bond0' of host 'kvm02'");
    }

    // ---- duplicate names: the second one is the error -----------------------------------------

    [Fact]
    public void DuplicateNetworkName_PointsAtTheSecond()
    {
        var text = InventoryBuilder.TwoHosts().Network("lan", "198.51.100.0/24", "migration").Yaml();
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "name: lan", 2),
            "duplicate network name 'lan'", $"first defined at inv.yaml:{Yaml.ValuePos(text, "name: lan").Line}:{Yaml.ValuePos(text, "name: lan").Column}");
    }

    [Fact]
    public void DuplicateClusterName_PointsAtTheSecond()
    {
        var text = InventoryBuilder.TwoHosts().Cluster("prod").Yaml();
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "name: prod", 2), "duplicate cluster name 'prod'");
    }

    [Fact]
    public void DuplicateHostName_PointsAtTheSecond()
    {
        var text = InventoryBuilder.TwoHosts().Host("kvm01").Yaml();
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "name: kvm01", 2), "duplicate host name 'kvm01'");
    }

    [Fact]
    public void DuplicateVmName_PointsAtTheSecond()
    {
        var text = InventoryBuilder.TwoHosts().Vm("web02", "kvm02").Yaml().Replace("name: web02", "name: web01");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "name: web01", 2), "duplicate VM name 'web01'");
    }

    [Fact]
    public void DuplicateInterfaceNameOnOneHost_PointsAtTheSecondInterface()
    {
        var text = InventoryBuilder.TwoHosts().Nic("kvm01", "eth0", "198.51.100.11/24", 10).Yaml();
        // kvm01's interfaces come first: its second 'eth0' is the second in the file.
        Yaml.AssertSingleError(text, Yaml.Pos(text, "name: eth0", 2), "duplicate interface", "host 'kvm01'", "'eth0'");
    }

    [Fact]
    public void TheSameInterfaceNameOnTwoHosts_IsFine()
    {
        var inventory = InventoryBuilder.TwoHosts().Load();
        Assert.All(inventory.Hosts, h => Assert.Equal("eth0", Assert.Single(h.Interfaces).Name));
    }

    // ---- references --------------------------------------------------------------------------

    [Fact]
    public void VmOnUnknownHost_SuggestsTheClosest()
    {
        var text = InventoryBuilder.TwoHosts().Vm("web01", "kvm2").Yaml();
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "host: kvm2"),
            "VM 'web01' is on host 'kvm2', which is not in hosts", "did you mean 'kvm02'?");
    }

    [Fact]
    public void HostInUnknownCluster_SuggestsTheClosest()
    {
        var text = InventoryBuilder.TwoHosts().Host("kvm03", cluster: "prd").Yaml();
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "cluster: prd"),
            "host 'kvm03' names cluster 'prd', which is not in clusters", "did you mean 'prod'?");
    }

    [Fact]
    public void HostWithAnInvalidValue_DoesNotMakeItsVmsReferToAMissingHost()
    {
        // kvm01 is in the file; its bad cpuThreads is the one problem. "web01 is on host 'kvm01',
        // which is not in hosts" would send the user looking for the wrong mistake.
        var text = Yaml.ReplaceOnce(Base, "    cluster: prod\n    cpuThreads: 32\n    interfaces:\n      - name: eth0\n        addresses: [192.0.2.11/24]",
            "    cluster: prod\n    cpuThreads: lots\n    interfaces:\n      - name: eth0\n        addresses: [192.0.2.11/24]");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "cpuThreads: lots"), "'cpuThreads' of host 'kvm01' must be a whole number, not 'lots'");
    }

    // ---- network CIDRs -----------------------------------------------------------------------

    [Theory]
    [InlineData("192.0.2.300/24", "'192.0.2.300' is not an IPv4 or IPv6 address")]
    [InlineData("lan-net/24", "'lan-net' is not an IPv4 or IPv6 address")]
    [InlineData("192.0.2/24", "'192.0.2' is not an IPv4 or IPv6 address")]
    [InlineData("192.0.2.0", "'192.0.2.0' needs a prefix length")]
    [InlineData("192.0.2.0/33", "'33' is not a prefix length")]
    [InlineData("192.0.2.0/x", "'x' is not a prefix length")]
    [InlineData("192.0.2.1/24", "'192.0.2.1/24' has host bits set; did you mean '192.0.2.0/24'?")]
    [InlineData("192.0.2.128/16", "did you mean '192.0.0.0/16'?")]
    public void BadCidr_IsAnErrorAtTheValue(string cidr, string fragment)
    {
        var text = Yaml.ReplaceOnce(Base, "cidr: 192.0.2.0/24", $"cidr: {cidr}");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, $"cidr: {cidr}"), "'cidr' of network 'lan'", fragment);
    }

    [Fact]
    public void Ipv6Cidr_IsAccepted()
    {
        var inventory = InventoryBuilder.TwoHosts().Network("v6", "2001:db8::/64", "vm").Load();
        Assert.Equal("2001:db8::/64", inventory.Network("v6").Cidr.ToString());
    }

    // ---- interface addresses ------------------------------------------------------------------

    [Theory]
    [InlineData("192.0.2.12", "'192.0.2.12' needs a prefix length")]
    [InlineData("192.0.2.0/24", "'192.0.2.0/24' is the network address of 192.0.2.0/24")]
    [InlineData("192.0.2.255/24", "'192.0.2.255/24' is the broadcast address of 192.0.2.0/24")]
    [InlineData("192.0.2.312/24", "'192.0.2.312' is not an IPv4 or IPv6 address")]
    public void BadInterfaceAddress_IsAnErrorAtTheAddress(string address, string fragment)
    {
        var text = Yaml.ReplaceOnce(Base, "[192.0.2.12/24]", $"[{address}]");
        var (line, column) = Yaml.Pos(text, $"[{address}]");
        Yaml.AssertSingleError(text, (line, column + 1), "address of interface 'eth0' of host 'kvm02'", fragment);
    }

    [Theory]
    [InlineData("192.0.2.12/16")]
    [InlineData("192.0.2.12/25")]
    public void AddressWhosePrefixDisagreesWithItsNetwork_IsOutsideItsNetwork(string address)
    {
        var text = Yaml.ReplaceOnce(Base, "[192.0.2.12/24]", $"[{address}]");
        var (line, column) = Yaml.Pos(text, $"[{address}]");
        Yaml.AssertSingleError(text, (line, column + 1),
            $"address {address} of interface 'eth0' of host 'kvm02' is outside its network",
            "'lan' is 192.0.2.0/24", "should be 192.0.2.12/24");
    }

    [Fact]
    public void TheSameAddressOnTwoHosts_PointsAtTheSecond()
    {
        var text = Yaml.ReplaceOnce(Base, "[192.0.2.12/24]", "[192.0.2.11/24]");
        var (line, column) = Yaml.Pos(text, "[192.0.2.11/24]", 2);
        Yaml.AssertSingleError(text, (line, column + 1),
            "address 192.0.2.11 of interface 'eth0' of host 'kvm02' is already used by interface 'eth0' of host 'kvm01'");
    }

    // ---- values ------------------------------------------------------------------------------

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("-0.5")]
    public void SpeedThatIsNotPositive_IsAnError(string speed)
    {
        var text = Yaml.ReplaceOnce(Base, "[192.0.2.12/24]\n        speedGbps: 1", $"[192.0.2.12/24]\n        speedGbps: {speed}");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, $"speedGbps: {speed}"),
            "'speedGbps' of interface 'eth0' of host 'kvm02' must be greater than zero");
    }

    [Fact]
    public void BadRole_SuggestsMigration()
    {
        var text = Yaml.ReplaceOnce(Base, "role: management", "role: migrate");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "role: migrate"),
            "'role' of network 'lan' must be one of management, migration, storage, cluster, vm, not 'migrate'",
            "did you mean 'migration'?");
    }

    [Theory]
    [InlineData("role: management", "role: storag", "did you mean 'storage'?")]
    [InlineData("speedGbps: 1\nvms:", "speedGbps: 1\n        state: dwon\nvms:", "did you mean 'down'?")]
    public void BadEnumValue_SuggestsTheClosest(string old, string replacement, string hint)
    {
        var text = Yaml.ReplaceOnce(Base, old, replacement);
        var entry = replacement.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("role:") || l.StartsWith("state:"));
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, entry), "must be one of", hint);
    }

    [Theory]
    [InlineData("{ parallel: Paralel }", "'parallel' of the migration policy of cluster 'prod' must be one of Cluster, Disabled, Auto, Parallel, Custom, not 'Paralel'; did you mean 'Parallel'?")]
    [InlineData("{ compression: zstdd }", "did you mean 'zstd'?")]
    [InlineData("{ transport: engin }", "did you mean 'engine'?")]
    [InlineData("{ storage: cpy }", "'storage' of the migration policy of cluster 'prod' must be one of shared, copy, not 'cpy'; did you mean 'copy'?")]
    public void BadPolicyEnumValue_SuggestsTheClosest(string policy, string fragment)
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy(policy).Yaml();
        var value = policy.Trim('{', '}', ' ').Split(": ")[1];
        Yaml.AssertSingleError(text, Yaml.Pos(text, value + " }"), fragment);
    }

    [Fact]
    public void BadStorageValue_OnAVm_NamesFileLineAndColumn_WithADidYouMean()
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: "{ storage: shard }").Yaml();
        var (line, column) = Yaml.Pos(text, "shard }");

        var e = Yaml.LoadFails(text);

        Assert.Contains($"inv.yaml:{line}:{column}: 'storage' of the migration policy of VM 'web01' must be one of shared, copy, not 'shard'; did you mean 'shared'?", e.Message);
        Assert.Single(e.Problems, p => p.Severity == ProblemSeverity.Error);
    }

    [Fact]
    public void MisspeltStorageKey_SuggestsStorage()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ storag: copy }").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, "storag:"),
            "unknown key 'storag' in the migration policy of cluster 'prod'", "did you mean 'storage'?");
    }

    [Theory]
    [InlineData("maxConcurentIncoming")]
    [InlineData("maxConcurrentIncomming")]
    [InlineData("maxconcurrentincoming")]
    public void MisspeltMaxConcurrentIncomingKey_SuggestsIt(string misspelt)
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy($"{{ {misspelt}: 2 }}").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, misspelt + ":"),
            $"unknown key '{misspelt}' in the migration policy of cluster 'prod'", "did you mean 'maxConcurrentIncoming'?");
    }

    [Theory]
    [InlineData("linkLossTolerance")]
    [InlineData("linkLossToleranceSecs")]
    [InlineData("linklosstoleranceseconds")]
    public void MisspeltLinkLossToleranceKey_SuggestsIt(string misspelt)
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: $"{{ {misspelt}: 60 }}").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, misspelt + ":"),
            $"unknown key '{misspelt}' in the migration policy of VM 'web01'", "did you mean 'linkLossToleranceSeconds'?");
    }

    [Theory]
    [InlineData("network")]
    [InlineData("netwroks")]
    [InlineData("Networks")]
    public void MisspeltNetworksKey_SuggestsIt(string misspelt)
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: $"{{ {misspelt}: [lan] }}").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, misspelt + ":"),
            $"unknown key '{misspelt}' in the migration policy of VM 'web01'", "did you mean 'networks'?");
    }

    [Theory]
    [InlineData("strip")]
    [InlineData("stripes")]
    [InlineData("Stripe")]
    public void MisspeltStripeKey_SuggestsIt(string misspelt)
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: $"{{ {misspelt}: true }}").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, misspelt + ":"),
            $"unknown key '{misspelt}' in the migration policy of VM 'web01'", "did you mean 'stripe'?");
    }

    [Fact]
    public void BadStripeValue_IsAnErrorAtItsLineAndColumn()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ stripe: maybe }").Yaml();
        var (line, column) = Yaml.ValuePos(text, "stripe: maybe");

        var e = Yaml.LoadFails(text);

        Assert.Contains($"inv.yaml:{line}:{column}: 'stripe' of the migration policy of cluster 'prod' must be true or false, not 'maybe'", e.Message);
        Assert.Single(e.Problems, p => p.Severity == ProblemSeverity.Error);
    }

    [Fact]
    public void BadBondMode_IsAnError()
    {
        var text = InventoryBuilder.TwoHosts()
            .Nic("kvm02", "bond0", "198.51.100.12/24", 10, "bond: { mode: lacp, members: [a, b] }").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, "lacp"), "'mode' of the bond of interface 'bond0' of host 'kvm02' must be one of active-backup, 802.3ad");
    }

    [Theory]
    [InlineData("    vcpus: 8\n", "    vcpus: many\n", "vcpus: many", "'vcpus' of VM 'web01' must be a whole number, not 'many'")]
    [InlineData("    vcpus: 8\n", "    vcpus: 2.5\n", "vcpus: 2.5", "'vcpus' of VM 'web01' must be a whole number, not '2.5'")]
    [InlineData("    memoryMiB: 4096\n", "    memoryMiB: [4096]\n", "memoryMiB: [4096]", "'memoryMiB' of VM 'web01' must be a whole number")]
    [InlineData("    vcpus: 8\n", "    vcpus: 0\n", "vcpus: 0", "'vcpus' of VM 'web01' must be at least 1, not 0")]
    [InlineData("[192.0.2.12/24]\n        speedGbps: 1", "[192.0.2.12/24]\n        speedGbps: fast", "speedGbps: fast", "'speedGbps' of interface 'eth0' of host 'kvm02' must be a number, not 'fast'")]
    [InlineData("    role: management\n", "    role: management\n    allowMigration: yes\n", "allowMigration: yes", "'allowMigration' of network 'lan' must be true or false, not 'yes'")]
    [InlineData("    role: management\n", "    role: management\n    priority: first\n", "priority: first", "'priority' of network 'lan' must be a whole number, not 'first'")]
    [InlineData("[192.0.2.12/24]\n        speedGbps: 1", "[192.0.2.12/24]\n        speedGbps: 1\n        mtu: 20", "mtu: 20", "'mtu' of interface 'eth0' of host 'kvm02' must be at least 68, not 20")]
    [InlineData("  - name: kvm02\n    cluster: prod\n", "  - name: kvm02\n    cluster: prod\n    agent: { port: 70000 }\n", "port: 70000", "'port' of the agent of host 'kvm02' must be at most 65535, not 70000")]
    [InlineData("vms:\n  - name: web01\n", "vms:\n  - name: [web01]\n", "name: [web01]", "'name' of VM #1 must be a non-empty text value")]
    public void WrongType_IsAnErrorAtTheValue(string old, string replacement, string entry, string fragment)
    {
        var text = Yaml.ReplaceOnce(Base, old, replacement);
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, entry), fragment);
    }

    [Fact]
    public void ASectionThatIsNotAList_IsAnError()
    {
        var text = Yaml.ReplaceOnce(Base, "vms:\n  - name: web01\n    host: kvm01\n    vcpus: 8\n    memoryMiB: 4096\n", "vms: web01\n");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "vms: web01"), "'vms' of the inventory must be a list");
    }

    // ---- missing required keys: reported at the mapping that lacks them -------------------------

    [Theory]
    [InlineData("  - name: lan\n    cidr: 192.0.2.0/24\n", "  - cidr: 192.0.2.0/24\n", "cidr: 192.0.2.0/24", "network #1 needs 'name'")]
    [InlineData("    cidr: 192.0.2.0/24\n", "", "name: lan", "network 'lan' needs 'cidr'")]
    [InlineData("    role: management\n", "", "name: lan", "network 'lan' needs 'role'")]
    [InlineData("  - name: kvm02\n    cluster: prod\n    cpuThreads: 32\n", "  - name: kvm02\n    cluster: prod\n", "name: kvm02", "host 'kvm02' needs 'cpuThreads'")]
    [InlineData("[192.0.2.12/24]\n        speedGbps: 1\n", "[192.0.2.12/24]\n", "name: eth0|2", "interface 'eth0' of host 'kvm02' needs 'speedGbps'")]
    [InlineData("        addresses: [192.0.2.12/24]\n", "", "name: eth0|2", "interface 'eth0' of host 'kvm02' needs 'addresses'")]
    [InlineData("    host: kvm01\n", "", "name: web01", "VM 'web01' needs 'host'")]
    [InlineData("    vcpus: 8\n", "", "name: web01", "VM 'web01' needs 'vcpus'")]
    [InlineData("    memoryMiB: 4096\n", "", "name: web01", "VM 'web01' needs 'memoryMiB'")]
    [InlineData("    memoryMiB: 4096\n", "    memoryMiB: 4096\n    qemu: { args: [] }\n", "{ args: []", "the qemu section of VM 'web01' needs 'qmp'")]
    [InlineData("    memoryMiB: 4096\n", "    memoryMiB: 4096\n    libvirt: { uri: \"qemu:///system\" }\n", "{ uri: \"qemu", "the libvirt section of VM 'web01' needs 'domain'")]
    public void MissingRequiredKey_IsReportedAtItsMapping(string old, string replacement, string mappingStart, string fragment)
    {
        var text = Yaml.ReplaceOnce(Base, old, replacement);
        var parts = mappingStart.Split('|');
        var at = Yaml.Pos(text, parts[0], parts.Length > 1 ? int.Parse(parts[1]) : 1);
        Yaml.AssertSingleError(text, at, fragment);
    }

    [Fact]
    public void MissingHostsSection_IsReportedAtTheTop()
    {
        var text = "networks: []\n";
        Yaml.AssertSingleError(text, (1, 1), "the inventory needs 'hosts'");
    }

    [Fact]
    public void MissingBondMembers_IsAnError()
    {
        var text = InventoryBuilder.TwoHosts()
            .Nic("kvm02", "bond0", "198.51.100.12/24", 10, "bond: { mode: 802.3ad, members: [] }").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, "[] }"), "the bond of interface 'bond0' of host 'kvm02' needs at least one member");
    }

    // ---- combinations ------------------------------------------------------------------------

    [Theory]
    [InlineData("192.0.2.128/25")]
    [InlineData("192.0.0.0/16")]
    [InlineData("192.0.2.0/24")]
    public void OverlappingNetworks_AreAnErrorAtTheLaterNetwork(string cidr)
    {
        var text = InventoryBuilder.TwoHosts().Network("mig", cidr, "migration").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, "name: mig"),
            $"network 'mig' ({cidr}) overlaps network 'lan' (192.0.2.0/24) at inv.yaml:{Yaml.Pos(text, "name: lan").Line}:{Yaml.Pos(text, "name: lan").Column}");
    }

    [Fact]
    public void AdjacentNetworks_DoNotOverlap()
    {
        var inventory = InventoryBuilder.TwoHosts().Network("next", "192.0.3.0/24", "vm").Load();
        Assert.Equal(2, inventory.Networks.Count);
    }

    [Fact]
    public void VmWithBothQemuAndLibvirt_IsAnError()
    {
        var text = Yaml.ReplaceOnce(Base, "    memoryMiB: 4096\n",
            "    memoryMiB: 4096\n    qemu: { qmp: /run/psmig/web01.qmp }\n    libvirt: { domain: web01 }\n");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "libvirt: { domain"), "VM 'web01' has both 'qemu' and 'libvirt'");
    }

    [Fact]
    public void HostLibvirtUri_IsRead_AndDefaultsToLibvirtsTlsUri()
    {
        var text = Yaml.ReplaceOnce(Base, "  - name: kvm02\n    cluster: prod\n    cpuThreads: 32", "  - name: kvm02\n    cluster: prod\n    cpuThreads: 32\n    libvirt: { uri: \"qemu+ssh://root@kvm02/system\" }");
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        Assert.Equal("qemu+ssh://root@kvm02/system", inventory.Host("kvm02").LibvirtUri);
        Assert.Equal("qemu+tls://kvm01/system", inventory.Host("kvm01").LibvirtUri);
    }

    [Fact]
    public void MalformedLibvirtUri_IsAnError()
    {
        var text = Yaml.ReplaceOnce(Base, "  - name: kvm02\n    cluster: prod\n    cpuThreads: 32", "  - name: kvm02\n    cluster: prod\n    cpuThreads: 32\n    libvirt: { uri: kvm02 }");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "uri: kvm02"), "'kvm02' is not a libvirt URI such as qemu:///system", "host 'kvm02'");
    }

    [Fact]
    public void ParallelClusterOnACluster_IsAnError()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: Cluster }").Yaml();
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "parallel: Cluster"), "parallel: Cluster (inherit) is for VMs only", "cluster 'prod'");
    }

    [Fact]
    public void ParallelClusterOnAVm_IsFine()
    {
        var inventory = InventoryBuilder.TwoHosts().WithVm(migration: "{ parallel: Cluster }").Load();
        Assert.Equal(ParallelMode.Cluster, inventory.Vm("web01").Migration!.Parallel);
        Assert.Empty(inventory.Warnings);
    }

    // ---- many problems, one report -------------------------------------------------------------

    private const string ManyProblems = """
        networks:
          - name: lan
            cidr: 192.0.2.1/24
            role: management
        clusters:
          - name: prod
            migration: { parallel: Custom }
        hosts:
          - name: kvm01
            cluster: prod
            cpuThreads: 32
            interfaces:
              - name: eth0
                addresses: [192.0.2.11/24]
                speedGbps: 1
          - name: kvm02
            cluster: prod
            cpuThreads: many
            interfaces:
              - name: eth0
                addresses: [192.0.2.12/24]
                speedGbps: 0
        vms:
          - name: web01
            host: kvm01
            vcpu: 8
            memoryMiB: 4096

        """;

    [Fact]
    public void ManyProblemsInOneFile_AreReportedTogether_InFileOrder()
    {
        var e = Yaml.LoadFails(ManyProblems);
        Yaml.AssertError(e, (3, 11), "host bits set; did you mean '192.0.2.0/24'?");
        Yaml.AssertError(e, (7, 28), "parallel: Custom needs 'connections'");
        Yaml.AssertError(e, (18, 17), "'cpuThreads' of host 'kvm02' must be a whole number, not 'many'");
        Yaml.AssertError(e, (22, 20), "'speedGbps' of interface 'eth0' of host 'kvm02' must be greater than zero");
        Yaml.AssertError(e, (24, 5), "VM 'web01' needs 'vcpus'");
        Yaml.AssertError(e, (26, 5), "unknown key 'vcpu' in VM 'web01'", "did you mean 'vcpus'?");
        Assert.Equal(
            [(3, 11), (7, 28), (18, 17), (22, 20), (24, 5), (26, 5)],
            e.Problems.Select(p => (p.Location.Line, p.Location.Column)));
    }

    [Fact]
    public void ExceptionMessage_ListsEveryErrorAsFileLineColumn()
    {
        var e = Yaml.LoadFails(ManyProblems);
        Assert.Equal("InventoryInvalid", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Equal("inv.yaml", e.Target);
        Assert.Contains("inv.yaml has 6 errors", e.Message);
        foreach (var (line, column) in new[] { (3, 11), (7, 28), (18, 17), (22, 20), (24, 5), (26, 5) })
            Assert.Contains($"inv.yaml:{line}:{column}: ", e.Message);
        // In file order in the message too.
        Assert.True(e.Message.IndexOf("inv.yaml:3:11", StringComparison.Ordinal) < e.Message.IndexOf("inv.yaml:7:28", StringComparison.Ordinal));
    }

    [Fact]
    public void SingleErrorMessage_NamesFileLineColumn()
    {
        var text = Yaml.ReplaceOnce(Base, "    vcpus: 8\n", "    vcpus: many\n");
        var (line, column) = Yaml.ValuePos(text, "vcpus: many");
        var e = Yaml.LoadFails(text);
        Assert.Contains("has 1 error:", e.Message);
        Assert.Contains($"inv.yaml:{line}:{column}: 'vcpus' of VM 'web01' must be a whole number", e.Message);
    }

    // ---- loading from files and the sample -----------------------------------------------------

    [Fact]
    public void LoadingAMissingFile_IsInventoryNotFound()
    {
        var path = Path.Combine(Path.GetTempPath(), $"psmig-missing-{Guid.NewGuid():N}.yaml");
        var e = Assert.Throws<MigrationException>(() => InventoryLoader.Load(path));
        Assert.Equal("InventoryNotFound", e.ErrorId);
        Assert.Equal(FailureKind.NotFound, e.Kind);
    }

    [Fact]
    public void LoadingAFile_ReportsItsFullPathInErrors_AndAcceptsABom()
    {
        var path = Path.Combine(Path.GetTempPath(), $"psmig-{Guid.NewGuid():N}.yaml");
        try
        {
            File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Base)]);
            Assert.Equal(2, InventoryLoader.Load(path).Hosts.Count);

            File.WriteAllText(path, Yaml.ReplaceOnce(Base, "    vcpus: 8\n", "    vcpus: many\n"));
            var e = Assert.Throws<InventoryException>(() => InventoryLoader.Load(path));
            var (line, column) = Yaml.ValuePos(Yaml.ReplaceOnce(Base, "    vcpus: 8\n", "    vcpus: many\n"), "vcpus: many");
            Assert.Equal(new SourceLocation(path, line, column), Assert.Single(e.Problems).Location);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Sample_LoadsWithDefaults()
    {
        var inventory = InventoryLoader.LoadSample();
        Assert.Equal(InventoryLoader.SampleName, inventory.Path);
        Assert.Empty(inventory.Warnings);
        Assert.Equal(["kvm01", "kvm02", "kvm03"], inventory.Hosts.Select(h => h.Name));
        Assert.Equal(["web01", "db01", "build01"], inventory.Vms.Select(v => v.Name));
        Assert.Equal(["lan", "corosync", "iscsi-a", "iscsi-b", "mig"], inventory.Networks.Select(n => n.Name));

        // Defaults: priority 100, mtu 1500, state up, agent port 49152.
        Assert.Equal(100, inventory.Network("lan").Priority);
        Assert.Equal(1, inventory.Network("mig").Priority);
        Assert.Null(inventory.Network("iscsi-a").AllowMigration);
        Assert.False(inventory.Network("iscsi-a").MigrationAllowed);
        Assert.True(inventory.Network("lan").MigrationAllowed);
        var bond = inventory.Host("kvm01").Interfaces.Single(i => i.Name == "bond0");
        Assert.Equal(1500, bond.Mtu);
        Assert.Equal(LinkState.Up, bond.State);
        Assert.Equal(BondMode.Lacp, bond.Bond!.Mode);
        Assert.Equal(["eno1", "eno2"], bond.Bond.Members);
        Assert.Equal(9000, inventory.Host("kvm01").Interfaces.Single(i => i.Name == "ens3f0").Mtu);
        Assert.All(inventory.Hosts, h => Assert.Equal(49152, h.AgentPort));
        Assert.Equal(16, inventory.Host("kvm03").CpuThreads);

        var db01 = inventory.Vm("db01");
        Assert.Equal(4, db01.PinnedCpus);
        Assert.Equal("libvirt", db01.Backend);
        Assert.Equal(ParallelMode.Custom, db01.Migration!.Parallel);
        Assert.Equal(4, db01.Migration.Connections);
        var web01 = inventory.Vm("web01");
        Assert.Equal("qemu", web01.Backend);
        Assert.Equal("/run/psmig/web01.qmp", web01.Qemu!.Qmp);
        Assert.Null(web01.Migration);
        Assert.Null(web01.PinnedCpus);
    }

    [Fact]
    public void Defaults_ApplyWhenKeysAreOmitted()
    {
        var inventory = InventoryBuilder.TwoHosts().Load();
        var nic = inventory.Host("kvm02").Interfaces.Single();
        Assert.Equal(1500, nic.Mtu);
        Assert.Equal(LinkState.Up, nic.State);
        Assert.Null(nic.Bond);
        Assert.Equal(49152, inventory.Host("kvm02").AgentPort);
        Assert.Equal(100, inventory.Network("lan").Priority);
        Assert.Null(inventory.Cluster("prod").Migration);
    }

    [Fact]
    public void LookupOfAnUnknownName_FailsWithDidYouMean()
    {
        var inventory = InventoryBuilder.TwoHosts().Load();
        var e = Assert.Throws<MigrationException>(() => inventory.Host("kvm2"));
        Assert.Equal("HostNotFound", e.ErrorId);
        Assert.Equal(FailureKind.NotFound, e.Kind);
        Assert.Contains("did you mean 'kvm02'?", e.Message);
        Assert.Equal("ClusterNotFound", Assert.Throws<MigrationException>(() => inventory.Cluster("dev")).ErrorId);
    }
}
