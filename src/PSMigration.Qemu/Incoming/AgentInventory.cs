using System.Net;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Agent;

namespace PSMigration.Qemu.Incoming;

/// <summary>
/// The agent's own inventory, the only source of what it runs and for whom: a host may move here only the VMs this
/// file places on it, of the kind asked (a QEMU twin, a libvirt relay), and a twin is started from this file's
/// description. Read again whenever the file changes (<see cref="InventoryCache"/>). On arrival the VM's <c>host:</c>
/// becomes this host with the comment-preserving editor, so the way back is never refused by this copy; when the hosts
/// share one file, the source's own update then finds it done.
/// </summary>
internal sealed class AgentInventory(string path, string hostName) : IIncomingAuthority
{
    public MigrationInventory Current() => InventoryCache.Load(path, out _);

    public string? Refusal(string vm, string sourceHost, IncomingKind kind)
    {
        VirtualMachine found;
        try
        {
            if (Current().Vms.FirstOrDefault(v => MigrationInventory.NameComparer.Equals(v.Name, vm)) is not { } match)
                return $"the inventory of {hostName} ({path}) has no VM '{vm}'";
            found = match;
        }
        catch (MigrationException e)
        {
            return $"the agent of {hostName} cannot read its inventory: {e.Message}";
        }
        var names = MigrationInventory.NameComparer;
        if (!names.Equals(found.Host, sourceHost))
            return names.Equals(found.Host, hostName)
                ? $"the inventory of {hostName} places {found.Name} here already, not on {sourceHost}"
                : $"the inventory of {hostName} places {found.Name} on {found.Host}, not {sourceHost}: a host may move only the VMs it holds " +
                  $"(if {found.Name} did move, {hostName}'s copy of the inventory is stale: a shared inventory file keeps the hosts in step)";
        return kind switch
        {
            IncomingKind.QemuTwin when found.Qemu is null => $"the inventory of {hostName} has no qemu: section for {found.Name} (is it a libvirt domain?)",
            IncomingKind.LibvirtRelay when found.Libvirt is null => $"the inventory of {hostName} has no libvirt: section for {found.Name}",
            _ => null,
        };
    }

    public string? AddressRefusal(string host, IPAddress address)
    {
        try
        {
            var inventory = Current();
            if (inventory.Hosts.FirstOrDefault(h => MigrationInventory.NameComparer.Equals(h.Name, host)) is not { } found)
                return $"the inventory of {hostName} ({path}) has no host '{host}'";
            return found.Interfaces.SelectMany(i => i.Addresses).Any(a => a.Address.Equals(address)) ? null
                : $"the inventory of {hostName} ({path}) gives {host} no address {address}";
        }
        catch (MigrationException e)
        {
            return $"the agent of {hostName} cannot read its inventory: {e.Message}";
        }
    }

    /// <summary>The VM's QEMU as this host's inventory describes it (after <see cref="Refusal"/> agreed).</summary>
    public QemuSpec QemuOf(string vm) => Current().Vm(vm).Qemu
        ?? throw new MigrationException("NotAQemuVm", FailureKind.InvalidInput, $"the inventory of {hostName} has no qemu: section for {vm}", vm);

    public string Arrived(string vm, string sourceHost)
    {
        try
        {
            VmHostEditor.Move(path, vm, sourceHost, hostName);
            return $"{path} now places {vm} on {hostName}";
        }
        catch (Exception e) when (e is MigrationException or IOException or UnauthorizedAccessException)
        {
            return $"{path} was not updated: {e.Message}";
        }
    }
}
