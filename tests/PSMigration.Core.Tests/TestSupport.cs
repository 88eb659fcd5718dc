using System.Globalization;
using System.Text;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

namespace PSMigration.Core.Tests;

/// <summary>
/// Builds a minimal valid inventory YAML so a test states only what it is about. The default has
/// cluster 'prod', hosts kvm01 and kvm02 (32 CPU threads each, in prod) and VM web01 (8 vCPUs) on
/// kvm01. <see cref="TwoHosts"/> adds a 1 Gbps management network 'lan' (192.0.2.0/24) on both;
/// <see cref="Bare"/> has no networks at all, for the selector tests.
/// </summary>
internal sealed class InventoryBuilder
{
    private sealed class HostSpec(string name, int cpuThreads, string? cluster)
    {
        public string Name { get; } = name;
        public int CpuThreads { get; set; } = cpuThreads;
        public string? Cluster { get; } = cluster;
        public List<string> Nics { get; } = [];
    }

    private sealed class VmSpec(string name, string host, int vcpus)
    {
        public string Name { get; } = name;
        public string Host { get; } = host;
        public int Vcpus { get; set; } = vcpus;
        public int? PinnedCpus { get; set; }
        public string? Migration { get; set; }
    }

    private readonly List<string> networks = [];
    private readonly List<(string Name, string? Migration)> clusters = [];
    private readonly List<HostSpec> hosts = [];
    private readonly List<VmSpec> vms = [];
    private readonly Dictionary<string, string> linkPrefixes = new();
    private int nextSubnet = 1;

    /// <summary>Cluster prod, kvm01 + kvm02, VM web01 on kvm01; no networks.</summary>
    public static InventoryBuilder Bare(int kvm01Threads = 32, int kvm02Threads = 32) =>
        new InventoryBuilder()
            .Cluster("prod")
            .Host("kvm01", kvm01Threads)
            .Host("kvm02", kvm02Threads)
            .Vm("web01", "kvm01", vcpus: 8);

    /// <summary><see cref="Bare"/> plus the 1 Gbps management network 'lan' (192.0.2.0/24):
    /// kvm01 eth0 192.0.2.11/24, kvm02 eth0 192.0.2.12/24.</summary>
    public static InventoryBuilder TwoHosts() =>
        Bare()
            .Network("lan", "192.0.2.0/24", "management")
            .Nic("kvm01", "eth0", "192.0.2.11/24", 1)
            .Nic("kvm02", "eth0", "192.0.2.12/24", 1);

    public InventoryBuilder Network(string name, string cidr, string role, params string[] extra)
    {
        var text = new StringBuilder();
        text.Append($"  - name: {name}\n    cidr: {cidr}\n    role: {role}\n");
        foreach (var line in extra) text.Append($"    {line}\n");
        networks.Add(text.ToString());
        return this;
    }

    public InventoryBuilder Cluster(string name, string? migration = null)
    {
        clusters.Add((name, migration));
        return this;
    }

    /// <summary>Sets the flow-style <c>migration:</c> block of an existing cluster.</summary>
    public InventoryBuilder ClusterPolicy(string migration, string cluster = "prod")
    {
        var i = clusters.FindIndex(c => c.Name == cluster);
        clusters[i] = (cluster, migration);
        return this;
    }

    public InventoryBuilder Host(string name, int cpuThreads = 32, string? cluster = "prod")
    {
        hosts.Add(new HostSpec(name, cpuThreads, cluster));
        return this;
    }

    public InventoryBuilder Threads(string host, int cpuThreads)
    {
        hosts.Single(h => h.Name == host).CpuThreads = cpuThreads;
        return this;
    }

    /// <summary>An interface on <paramref name="host"/>; <paramref name="extra"/> are its other keys ("mtu: 9000").</summary>
    public InventoryBuilder Nic(string host, string name, string address, double speedGbps, params string[] extra)
    {
        var text = new StringBuilder();
        text.Append($"      - name: {name}\n        addresses: [{address}]\n        speedGbps: {Number(speedGbps)}\n");
        foreach (var line in extra) text.Append($"        {line}\n");
        hosts.Single(h => h.Name == host).Nics.Add(text.ToString());
        return this;
    }

    /// <summary>A network 10.N.0.0/24 with an interface named after it on every host listed
    /// (default: all), each host at <see cref="Address"/>.</summary>
    public InventoryBuilder Link(string name, string role, double speedGbps, string[]? networkExtra = null,
        string[]? nicExtra = null, string[]? onHosts = null)
    {
        var prefix = $"10.{nextSubnet++}.0";
        linkPrefixes[name] = prefix;
        Network(name, $"{prefix}.0/24", role, networkExtra ?? []);
        foreach (var host in onHosts ?? hosts.Select(h => h.Name).ToArray())
            Nic(host, name, Address(name, host) + "/24", speedGbps, nicExtra ?? []);
        return this;
    }

    /// <summary>The address <see cref="Link"/> gives <paramref name="host"/> on network <paramref name="link"/>
    /// (kvm01 .11, kvm02 .12, ...).</summary>
    public string Address(string link, string host) =>
        $"{linkPrefixes[link]}.{10 + hosts.FindIndex(h => h.Name == host) + 1}";

    public InventoryBuilder Vm(string name, string host, int vcpus = 8, int? pinnedCpus = null, string? migration = null)
    {
        vms.RemoveAll(v => v.Name == name);
        vms.Add(new VmSpec(name, host, vcpus) { PinnedCpus = pinnedCpus, Migration = migration });
        return this;
    }

    /// <summary>Changes web01 (or another VM) in place.</summary>
    public InventoryBuilder WithVm(string name = "web01", int? vcpus = null, int? pinnedCpus = null, string? migration = null)
    {
        var vm = vms.Single(v => v.Name == name);
        if (vcpus is not null) vm.Vcpus = vcpus.Value;
        if (pinnedCpus is not null) vm.PinnedCpus = pinnedCpus;
        if (migration is not null) vm.Migration = migration;
        return this;
    }

    public string Yaml()
    {
        var text = new StringBuilder();
        text.Append("networks:");
        text.Append(networks.Count == 0 ? " []\n" : "\n" + string.Concat(networks));
        if (clusters.Count > 0)
        {
            text.Append("clusters:\n");
            foreach (var (name, migration) in clusters)
            {
                text.Append($"  - name: {name}\n");
                if (migration is not null) text.Append($"    migration: {migration}\n");
            }
        }
        text.Append("hosts:\n");
        foreach (var host in hosts)
        {
            text.Append($"  - name: {host.Name}\n");
            if (host.Cluster is not null) text.Append($"    cluster: {host.Cluster}\n");
            text.Append($"    cpuThreads: {host.CpuThreads}\n");
            text.Append(host.Nics.Count == 0 ? "    interfaces: []\n" : "    interfaces:\n" + string.Concat(host.Nics));
        }
        if (vms.Count > 0)
        {
            text.Append("vms:\n");
            foreach (var vm in vms)
            {
                text.Append($"  - name: {vm.Name}\n    host: {vm.Host}\n    vcpus: {vm.Vcpus}\n    memoryMiB: 4096\n");
                if (vm.PinnedCpus is not null) text.Append($"    pinnedCpus: {vm.PinnedCpus}\n");
                if (vm.Migration is not null) text.Append($"    migration: {vm.Migration}\n");
            }
        }
        return text.ToString();
    }

    public MigrationInventory Load() => InventoryLoader.Parse(Yaml(), "inv.yaml");

    public MigrationPlan Plan(string vm = "web01", string destination = "kvm02", string? network = null) =>
        MigrationPlanner.Plan(Load(), vm, destination, network);

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);
}

internal static class Yaml
{
    /// <summary>1-based line and column where the <paramref name="occurrence"/>-th <paramref name="marker"/> starts.</summary>
    public static (int Line, int Column) Pos(string text, string marker, int occurrence = 1)
    {
        var index = -1;
        for (var i = 0; i < occurrence; i++)
        {
            index = text.IndexOf(marker, index + 1, StringComparison.Ordinal);
            Assert.True(index >= 0, $"test setup: occurrence {occurrence} of '{marker}' is not in the YAML");
        }
        var lineStart = text.LastIndexOf('\n', Math.Max(0, index - 1)) + 1;
        if (index == 0) lineStart = 0;
        var line = text[..index].Count(c => c == '\n') + 1;
        return (line, index - lineStart + 1);
    }

    /// <summary>Where the value of the <paramref name="occurrence"/>-th "key: value" <paramref name="entry"/> starts.</summary>
    public static (int Line, int Column) ValuePos(string text, string entry, int occurrence = 1)
    {
        var (line, column) = Pos(text, entry, occurrence);
        var colon = entry.IndexOf(": ", StringComparison.Ordinal);
        Assert.True(colon >= 0, $"test setup: '{entry}' is not 'key: value'");
        return (line, column + colon + 2);
    }

    /// <summary>Replaces the one occurrence of <paramref name="old"/> (failing the test when it is not exactly one).</summary>
    public static string ReplaceOnce(string text, string old, string replacement)
    {
        var first = text.IndexOf(old, StringComparison.Ordinal);
        Assert.True(first >= 0, $"test setup: '{old}' is not in the YAML");
        Assert.True(text.IndexOf(old, first + 1, StringComparison.Ordinal) < 0, $"test setup: '{old}' occurs more than once");
        return text[..first] + replacement + text[(first + old.Length)..];
    }

    public static InventoryException LoadFails(string text) =>
        Assert.Throws<InventoryException>(() => InventoryLoader.Parse(text, "inv.yaml"));

    /// <summary>The error at exactly (line, column) whose message holds every fragment.</summary>
    public static InventoryProblem AssertError(InventoryException e, (int Line, int Column) at, params string[] fragments)
    {
        var match = e.Problems.FirstOrDefault(p =>
            p.Severity == ProblemSeverity.Error && p.Location.Line == at.Line && p.Location.Column == at.Column
            && fragments.All(f => p.Message.Contains(f, StringComparison.Ordinal)));
        Assert.True(match is not null,
            $"expected an error at {at.Line}:{at.Column} containing [{string.Join(" | ", fragments)}]; got:{Environment.NewLine}" +
            string.Join(Environment.NewLine, e.Problems.Select(p => "  " + p)));
        Assert.Equal("inv.yaml", match!.Location.File);
        return match;
    }

    /// <summary>Loads <paramref name="text"/>, expecting it to fail with exactly one error, at (line, column), holding every fragment.</summary>
    public static InventoryProblem AssertSingleError(string text, (int Line, int Column) at, params string[] fragments)
    {
        var e = LoadFails(text);
        var problem = AssertError(e, at, fragments);
        var errors = e.Problems.Where(p => p.Severity == ProblemSeverity.Error).ToList();
        Assert.True(errors.Count == 1, "expected one error, got:" + Environment.NewLine + string.Join(Environment.NewLine, errors));
        return problem;
    }
}
