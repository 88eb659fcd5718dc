using System.Net;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Inventory;

/// <summary>Turns the YAML tree of an inventory into the model, section by section, reporting every
/// problem with its place. References are checked as they are read, so sections are read in
/// dependency order (networks, clusters, hosts, vms) whatever their order in the file.</summary>
internal sealed class InventoryReader(ProblemSink sink, string path)
{
    private readonly List<MigrationNetwork> networks = new();
    private readonly List<MigrationCluster> clusters = new();
    private readonly List<MigrationHost> hosts = new();
    private readonly List<VirtualMachine> vms = new();
    private readonly UniqueNames names = new(sink);
    /// <summary>Names ignore case (as PowerShell users type them): each maps to its spelling where it is defined,
    /// so a reference written in another case is stored as the defined name.</summary>
    private readonly Dictionary<string, string> clusterNames = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> hostNames = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Every network name read, in inventory order, even of a network whose rest is broken: what policies may name.</summary>
    private readonly List<string> networkNames = new();
    /// <summary>Each address once in the whole inventory: a duplicate breaks routing.</summary>
    private readonly Dictionary<IPAddress, MappingReader> addressOwners = new();

    public IReadOnlyList<MigrationNetwork> Networks => networks;
    public IReadOnlyList<MigrationCluster> Clusters => clusters;
    public IReadOnlyList<MigrationHost> Hosts => hosts;
    public IReadOnlyList<VirtualMachine> Vms => vms;

    public void Read(YamlValue root)
    {
        var inventory = MappingReader.Open(root, "the inventory", sink);
        if (inventory is null) return;
        var networkNodes = inventory.Sequence("networks", required: true);
        var clusterNodes = inventory.Sequence("clusters");
        var hostNodes = inventory.Sequence("hosts", required: true);
        var vmNodes = inventory.Sequence("vms");
        inventory.RejectUnknownKeys();

        foreach (var (node, i) in networkNodes.Select((n, i) => (n, i))) ReadNetwork(node, i + 1);
        CheckOverlaps();
        foreach (var (node, i) in clusterNodes.Select((n, i) => (n, i))) ReadCluster(node, i + 1);
        foreach (var (node, i) in hostNodes.Select((n, i) => (n, i))) ReadHost(node, i + 1);
        foreach (var (node, i) in vmNodes.Select((n, i) => (n, i))) ReadVm(node, i + 1);
    }

    private void ReadNetwork(YamlValue node, int ordinal)
    {
        var m = MappingReader.Open(node, "network", sink, ordinal);
        if (m is null) return;
        var name = Name(m);
        if (name is not null && !networkNames.Contains(name, StringComparer.OrdinalIgnoreCase)) networkNames.Add(name); // no follow-on errors
        var cidrText = m.String("cidr", required: true);
        var role = m.Enum<NetworkRole>("role", required: true);
        var priority = m.Int("priority", min: 0) ?? 100;
        var allow = m.Bool("allowMigration");
        m.RejectUnknownKeys();

        IPNetwork cidr = default;
        var cidrValid = false;
        if (cidrText is not null)
        {
            cidrValid = AddressParser.TryParseNetwork(cidrText, out cidr, out var error);
            if (!cidrValid) sink.Error(m.LocationOf("cidr"), $"'cidr' of {m.What}: {error}");
        }
        if (name is null || !cidrValid || role is null) return;
        if (!names.Claim("network", name, m.LocationOf("name"))) return;
        networks.Add(new MigrationNetwork(name, cidr, role.Value, priority, allow, m.Location));
    }

    /// <summary>An address must map to one network; overlapping CIDRs make that ambiguous.</summary>
    private void CheckOverlaps()
    {
        for (var i = 0; i < networks.Count; i++)
        for (var j = 0; j < i; j++)
        {
            var (a, b) = (networks[i], networks[j]);
            if (a.Cidr.Contains(b.Cidr.BaseAddress) || b.Cidr.Contains(a.Cidr.BaseAddress))
                sink.Error(a.Location, $"network '{a.Name}' ({a.Cidr}) overlaps network '{b.Name}' ({b.Cidr}) at {b.Location}");
        }
    }

    private void ReadCluster(YamlValue node, int ordinal)
    {
        var m = MappingReader.Open(node, "cluster", sink, ordinal);
        if (m is null) return;
        var name = Name(m);
        if (name is not null) clusterNames.TryAdd(name, name); // known even when the rest is broken: no follow-on errors
        var policy = PolicyReader.Read(m, isVm: false, networkNames, sink);
        m.RejectUnknownKeys();
        if (name is null || !names.Claim("cluster", name, m.LocationOf("name"))) return;
        clusters.Add(new MigrationCluster(name, policy, m.Location));
    }

    private void ReadHost(YamlValue node, int ordinal)
    {
        var m = MappingReader.Open(node, "host", sink, ordinal);
        if (m is null) return;
        var name = Name(m);
        if (name is not null) hostNames.TryAdd(name, name); // known even when the rest is broken: no follow-on errors
        var cluster = m.String("cluster");
        if (cluster is not null)
        {
            if (clusterNames.TryGetValue(cluster, out var defined)) cluster = defined;
            else sink.Error(m.LocationOf("cluster"),
                $"{m.What} names cluster '{cluster}', which is not in clusters{DidYouMean.Hint(cluster, clusters.Select(c => c.Name))}");
        }
        var cpuThreads = m.Int("cpuThreads", required: true, min: 1);
        var maintenance = m.Bool("maintenance") == true ? m.LocationOf("maintenance") : (SourceLocation?)null;
        var memory = m.Int("memoryMiB", min: 1);
        var reserved = m.Int("reservedMemoryMiB", min: 0);
        if (reserved is not null && memory is null)
            sink.Error(m.LocationOf("reservedMemoryMiB"), $"{m.What} reserves {reserved} MiB but has no memoryMiB: say how much memory it has");
        else if (reserved >= memory)
            sink.Error(m.LocationOf("reservedMemoryMiB"), $"{m.What} reserves {reserved} MiB of its {memory} MiB (memoryMiB): nothing would be left for VMs");
        var agentPort = ReadAgentPort(m);
        var libvirtUri = ReadHostLibvirt(m);
        var interfaces = new List<HostInterface>();
        var interfaceNames = new UniqueNames(sink, StringComparer.Ordinal);
        foreach (var (item, i) in m.Sequence("interfaces", required: true).Select((n, i) => (n, i)))
        {
            if (ReadInterface(item, i + 1, m) is { } nic && interfaceNames.Claim("interface", nic.Name, nic.Location, m))
                interfaces.Add(nic);
        }
        m.RejectUnknownKeys();
        if (name is null || cpuThreads is null || !names.Claim("host", name, m.LocationOf("name"))) return;
        hosts.Add(new MigrationHost(name, cluster, cpuThreads.Value, agentPort, interfaces, m.Location)
        {
            InventoryPath = path, LibvirtUriSetting = libvirtUri, MaintenanceAt = maintenance, MemoryMiB = memory, ReservedMemoryMiB = reserved ?? 0,
        });
    }

    /// <summary>The port of this host's migration agent; 49152 (the start of the dynamic range) by default.</summary>
    private int ReadAgentPort(MappingReader host)
    {
        var agent = host.Mapping("agent", "the agent");
        if (agent is null) return 49152;
        var port = agent.Int("port", min: 1, max: 65535) ?? 49152;
        agent.RejectUnknownKeys();
        return port;
    }

    /// <summary>The host's libvirt section: the URI peers' libvirt daemons use to reach this host's.</summary>
    private string? ReadHostLibvirt(MappingReader host)
    {
        var libvirt = host.Mapping("libvirt", "the libvirt section");
        if (libvirt is null) return null;
        var uri = LibvirtUri(libvirt, required: true);
        libvirt.RejectUnknownKeys();
        return uri;
    }

    /// <summary>A libvirt connection URI such as <c>qemu+tls://kvm02/system</c> (driver[+transport]://[host]/path).</summary>
    private string? LibvirtUri(MappingReader libvirt, bool required)
    {
        var uri = libvirt.String("uri", required);
        if (uri is not null && !System.Text.RegularExpressions.Regex.IsMatch(uri, @"^[a-z0-9]+(\+[a-z0-9]+)?://[^\s]*/[^\s]*$"))
            sink.Error(libvirt.LocationOf("uri"), $"{libvirt.What}: '{uri}' is not a libvirt URI such as qemu:///system or qemu+tls://kvm02/system");
        return uri;
    }

    private HostInterface? ReadInterface(YamlValue node, int ordinal, MappingReader host)
    {
        var m = MappingReader.Open(node, "interface", sink, ordinal, host);
        if (m is null) return null;
        var name = Name(m);
        var addresses = new List<InterfaceAddress>();
        foreach (var (text, at) in m.Strings("addresses", required: true))
        {
            if (!AddressParser.TryParseInterfaceAddress(text, out var address, out var error))
            {
                sink.Error(at, $"address of {m.What}: {error}");
                continue;
            }
            if (CheckAddress(address, sink.At(at), m)) addresses.Add(address);
        }
        var speed = m.PositiveNumber("speedGbps", required: true);
        var mtu = m.Int("mtu", min: 68, max: 65536) ?? 1500; // 65536: Linux loopback
        var state = m.Enum<LinkState>("state") ?? LinkState.Up;
        var bond = ReadBond(m);
        m.RejectUnknownKeys();
        return name is null || speed is null ? null : new HostInterface(name, addresses, speed.Value, mtu, state, bond, m.Location);
    }

    /// <summary>An address must agree with the network that holds it, and belong to one host only.</summary>
    private bool CheckAddress(InterfaceAddress address, SourceLocation at, MappingReader owner)
    {
        var network = networks.FirstOrDefault(n => n.Cidr.Contains(address.Address));
        if (network is not null && network.Cidr.PrefixLength != address.PrefixLength)
        {
            sink.Error(at, $"address {address} of {owner.What} is outside its network: '{network.Name}' is {network.Cidr}, " +
                           $"so the address should be {address.Address}/{network.Cidr.PrefixLength}");
            return false;
        }
        if (addressOwners.TryGetValue(address.Address, out var first))
        {
            sink.Error(at, $"address {address.Address} of {owner.What} is already used by {first.What}");
            return false;
        }
        addressOwners[address.Address] = owner;
        return true;
    }

    private Bond? ReadBond(MappingReader nic)
    {
        var m = nic.Mapping("bond", "the bond");
        if (m is null) return null;
        var mode = m.Enum<BondMode>("mode", required: true);
        var members = m.Strings("members", required: true).Select(s => s.Text).ToList();
        if (m.Has("members") && members.Count == 0) sink.Error(m.LocationOf("members"), $"{m.What} needs at least one member");
        m.RejectUnknownKeys();
        return mode is null || members.Count == 0 ? null : new Bond(mode.Value, members);
    }

    private void ReadVm(YamlValue node, int ordinal)
    {
        var m = MappingReader.Open(node, "VM", sink, ordinal);
        if (m is null) return;
        var name = Name(m);
        if (name is not null && !VmNames.IsValid(name))
            sink.Error(m.LocationOf("name"), $"VM name '{name}' must be {VmNames.Rule}: it names the VM's files on every host");
        var host = m.String("host", required: true);
        if (host is not null)
        {
            if (hostNames.TryGetValue(host, out var defined)) host = defined;
            else sink.Error(m.LocationOf("host"),
                $"{m.What} is on host '{host}', which is not in hosts{DidYouMean.Hint(host, hosts.Select(h => h.Name))}");
        }
        var vcpus = m.Int("vcpus", required: true, min: 1);
        var memory = m.Long("memoryMiB", required: true, min: 1);
        var pinned = m.Int("pinnedCpus", min: 1);
        var policy = PolicyReader.Read(m, isVm: true, networkNames, sink);
        var qemu = ReadQemu(m);
        var libvirt = ReadLibvirt(m);
        if (qemu is not null && libvirt is not null)
            sink.Error(m.LocationOf("libvirt"), $"{m.What} has both 'qemu' and 'libvirt'; a VM is managed by one of them");
        m.RejectUnknownKeys();
        if (name is null || host is null || vcpus is null || memory is null || !names.Claim("VM", name, m.LocationOf("name"))) return;
        vms.Add(new VirtualMachine(name, host, vcpus.Value, memory.Value, pinned, policy, qemu, libvirt, m.Location) { InventoryPath = path });
    }

    private QemuSpec? ReadQemu(MappingReader vm)
    {
        var m = vm.Mapping("qemu", "the qemu section");
        if (m is null) return null;
        var qmp = m.String("qmp", required: true);
        var binary = m.String("binary") ?? QemuSpec.DefaultBinary;
        if (!QemuSpec.IsBinaryName(binary))
            sink.Error(m.LocationOf("binary"),
                $"{m.What}: binary '{binary}' is not a QEMU system emulator name such as {QemuSpec.DefaultBinary} (a name, not a path: each agent runs its own configured binary)");
        var args = m.Strings("args").Select(s => s.Text).ToList();
        m.RejectUnknownKeys();
        return qmp is null ? null : new QemuSpec(qmp, args) { Binary = binary };
    }

    private LibvirtSpec? ReadLibvirt(MappingReader vm)
    {
        var m = vm.Mapping("libvirt", "the libvirt section");
        if (m is null) return null;
        var domain = m.String("domain", required: true);
        var uri = LibvirtUri(m, required: false);
        m.RejectUnknownKeys();
        return domain is null ? null : new LibvirtSpec(domain, uri);
    }

    /// <summary>Reads the required name and names the mapping after it, for clearer messages.</summary>
    private static string? Name(MappingReader m)
    {
        var name = m.String("name", required: true);
        if (name is not null) m.Describe(name);
        return name;
    }
}

/// <summary>Names that must be unique within their kind; the second use is the error.</summary>
/// <param name="comparer">How names compare: inventory names ignore case (users type them in any case);
/// interface names do not (Linux tells eth0 from ETH0).</param>
internal sealed class UniqueNames(ProblemSink sink, StringComparer comparer)
{
    private readonly Dictionary<string, Dictionary<string, (string Name, SourceLocation At)>> seen = new(StringComparer.Ordinal);

    public UniqueNames(ProblemSink sink) : this(sink, StringComparer.OrdinalIgnoreCase)
    {
    }

    /// <param name="scope">Where the name must be unique, for the message ("host 'kvm01'"); the whole inventory when null.</param>
    public bool Claim(string kind, string name, SourceLocation at, MappingReader? scope = null)
    {
        if (!seen.TryGetValue(kind, out var ofKind)) seen[kind] = ofKind = new Dictionary<string, (string, SourceLocation)>(comparer);
        if (ofKind.TryAdd(name, (name, at))) return true;
        var first = ofKind[name];
        var within = scope is null ? "" : $" in {scope.What}";
        var spelling = first.Name == name ? "" : $" as '{first.Name}'; names ignore case";
        sink.Error(at, $"duplicate {kind} name '{name}'{within} (first defined{spelling} at {first.At})");
        return false;
    }
}
