using System.Net;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Agent;
using PSMigration.Engine.Security;
using PSMigration.Qemu.Incoming;

namespace PSMigration.Qemu.Operations;

/// <summary>How one host of the inventory runs its agent (psmig agent, psmig demo).</summary>
public sealed record AgentSetup
{
    public required MigrationInventory Inventory { get; init; }
    public required string HostName { get; init; }
    public required HostCredentials Credentials { get; init; }
    public required string PkiDirectory { get; init; }
    /// <summary>Where its twins' files go, and where libvirt's incoming sockets are.</summary>
    public required string RunDirectory { get; init; }
    /// <summary>The QEMU system emulators it may start twins with.</summary>
    public required IReadOnlyList<string> QemuBinaries { get; init; }
    /// <summary>Folders where the VMs' disks, kernels and other files may be (<c>--storage-root</c>), besides the run directory.</summary>
    public IReadOnlyList<string> StorageRoots { get; init; } = [];
    /// <summary>The unprivileged user the twins run as (<c>--twin-user</c>); null: root, in QEMU's sandbox.</summary>
    public string? TwinUser { get; init; }
    /// <summary>Sources accepted besides the inventory's hosts.</summary>
    public IReadOnlyList<IPNetwork> ExtraAllowed { get; init; } = [];
    /// <summary>Port 0 picks one (the demo), else the host's agent port.</summary>
    public int? Port { get; init; }
    public Action<string> Log { get; init; } = _ => { };
}

/// <summary>The one way an agent is wired from an inventory: it listens on every address of the host's up interfaces at
/// its agent port, accepts the inventory's hosts only (plus extra CIDRs), lets each host move only the VMs the inventory
/// places on it, starts twins with QEMU from that inventory, relays to libvirt's incoming sockets in its run directory, and
/// migrates its own VMs when another host of the inventory asks (a runbook there).</summary>
public static class AgentLaunch
{
    public static MigrationAgent Start(AgentSetup setup) => MigrationAgent.Start(Options(setup));

    public static AgentOptions Options(AgentSetup setup)
    {
        var inventory = setup.Inventory;
        var host = inventory.Host(setup.HostName);
        var twins = new QemuTwinHost(new QemuTwinOptions
        {
            HostName = host.Name,
            InventoryPath = inventory.Path,
            Binaries = setup.QemuBinaries,
            RunDirectory = setup.RunDirectory,
            PkiDirectory = setup.PkiDirectory,
            StorageRoots = setup.StorageRoots,
            TwinUser = setup.TwinUser,
            Log = setup.Log,
        });
        return new AgentOptions
        {
            HostName = host.Name,
            Listen = host.Interfaces.Where(i => i.IsUp).SelectMany(i => i.Addresses)
                .Select(a => new IPEndPoint(a.Address, setup.Port ?? host.AgentPort)).ToList(),
            Credentials = setup.Credentials,
            AllowFrom = inventory.Hosts.SelectMany(h => h.Interfaces.SelectMany(i => i.Addresses))
                .Select(a => new IPNetwork(a.Address, a.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128))
                .Concat(setup.ExtraAllowed).Distinct().ToList(),
            Log = setup.Log,
            RelaySocketDirectory = setup.RunDirectory, // libvirt's incoming sockets for engine migrations
            Authority = twins.Inventory, // the same file decides who may move which VM here
            Incoming = twins,
            Outgoing = new AgentMigrations(host.Name, inventory.Path, setup.PkiDirectory, setup.RunDirectory),
        };
    }
}
