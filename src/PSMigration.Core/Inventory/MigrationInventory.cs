using PSMigration.Core.Diagnostics;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Inventory;

/// <summary>A loaded, validated inventory: names are unique and every reference resolves. Names are
/// looked up ignoring case (<c>WEB01</c> finds <c>web01</c>); what is found carries the name as defined,
/// and code past the lookup uses that.</summary>
public sealed class MigrationInventory
{
    private readonly Dictionary<string, MigrationNetwork> networks;
    private readonly Dictionary<string, MigrationCluster> clusters;
    private readonly Dictionary<string, MigrationHost> hosts;
    private readonly Dictionary<string, VirtualMachine> vms;
    /// <summary>Per cluster, the policy of a VM without its own block.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, EffectivePolicy> inherited = new(StringComparer.Ordinal);

    internal MigrationInventory(
        string path, string text,
        IReadOnlyList<MigrationNetwork> networks, IReadOnlyList<MigrationCluster> clusters,
        IReadOnlyList<MigrationHost> hosts, IReadOnlyList<VirtualMachine> vms, IReadOnlyList<InventoryProblem> warnings)
    {
        Path = path;
        Text = text;
        Networks = networks;
        Clusters = clusters;
        Hosts = hosts;
        Vms = vms;
        Warnings = warnings;
        this.networks = networks.ToDictionary(n => n.Name, NameComparer);
        this.clusters = clusters.ToDictionary(c => c.Name, NameComparer);
        this.hosts = hosts.ToDictionary(h => h.Name, NameComparer);
        this.vms = vms.ToDictionary(v => v.Name, NameComparer);
    }

    /// <summary>How VM, host, cluster and network names compare: ignoring case.</summary>
    public static StringComparer NameComparer => StringComparer.OrdinalIgnoreCase;

    public string Path { get; }
    /// <summary>The text the inventory was read from, for the policy editor.</summary>
    public string Text { get; }
    public IReadOnlyList<MigrationNetwork> Networks { get; }
    public IReadOnlyList<MigrationCluster> Clusters { get; }
    public IReadOnlyList<MigrationHost> Hosts { get; }
    public IReadOnlyList<VirtualMachine> Vms { get; }
    public IReadOnlyList<InventoryProblem> Warnings { get; }

    public MigrationNetwork Network(string name) => Find(networks, name, InventoryNameKind.Network);
    public MigrationCluster Cluster(string name) => Find(clusters, name, InventoryNameKind.Cluster);
    public MigrationHost Host(string name) => Find(hosts, name, InventoryNameKind.Host);
    public VirtualMachine Vm(string name) => Find(vms, name, InventoryNameKind.Vm);

    /// <summary>Every name of one kind, in inventory order.</summary>
    public IReadOnlyList<string> NamesOf(InventoryNameKind kind) => kind switch
    {
        InventoryNameKind.Vm => Vms.Select(v => v.Name).ToList(),
        InventoryNameKind.Host => Hosts.Select(h => h.Name).ToList(),
        InventoryNameKind.Cluster => Clusters.Select(c => c.Name).ToList(),
        _ => Networks.Select(n => n.Name).ToList(),
    };

    /// <summary>A name of one kind as the inventory spells it; an unknown one throws NotFound with a did-you-mean.</summary>
    public string NameOf(InventoryNameKind kind, string name) => kind switch
    {
        InventoryNameKind.Vm => Vm(name).Name,
        InventoryNameKind.Host => Host(name).Name,
        InventoryNameKind.Cluster => Cluster(name).Name,
        _ => Network(name).Name,
    };

    /// <summary>The error for a wildcard pattern (<c>web*</c>) that matches no name of <paramref name="kind"/>.</summary>
    public MigrationException NothingMatches(InventoryNameKind kind, string pattern) =>
        new(ErrorId(kind), FailureKind.NotFound, $"No {Noun(kind)} in {Path} matches '{pattern}'", pattern);

    private static string Noun(InventoryNameKind kind) => kind switch
    {
        InventoryNameKind.Vm => "VM",
        InventoryNameKind.Host => "host",
        InventoryNameKind.Cluster => "cluster",
        _ => "network",
    };

    private static string ErrorId(InventoryNameKind kind) => kind switch
    {
        InventoryNameKind.Vm => "VMNotFound",
        InventoryNameKind.Host => "HostNotFound",
        InventoryNameKind.Cluster => "ClusterNotFound",
        _ => "NetworkNotFound",
    };

    public EffectivePolicy ClusterPolicy(string cluster)
    {
        var found = Cluster(cluster);
        return PolicyResolver.ForCluster(found.Name, found.Migration, Path);
    }

    public EffectivePolicy VmPolicy(string vm)
    {
        var machine = Vm(vm);
        var cluster = Host(machine.Host).Cluster;
        if (machine.Migration is null) // most VMs: the cluster's policy as it is, resolved once per cluster
            return inherited.GetOrAdd(cluster ?? "", _ => Resolve(machine, cluster)) with { Name = machine.Name };
        return Resolve(machine, cluster);
    }

    private EffectivePolicy Resolve(VirtualMachine machine, string? cluster) =>
        PolicyResolver.ForVm(machine.Name, cluster, cluster is null ? null : Cluster(cluster).Migration, machine.Migration, Path);

    private T Find<T>(Dictionary<string, T> items, string name, InventoryNameKind kind)
    {
        if (items.TryGetValue(name, out var item)) return item;
        throw new MigrationException(ErrorId(kind), FailureKind.NotFound,
            $"There is no {Noun(kind)} '{name}' in {Path}{DidYouMean.Hint(name, items.Keys)}", name);
    }
}
