using System.Net;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Agent;

/// <summary>An agent's options from the inventory: it listens on every address of the host's up
/// interfaces at the host's agent port, and allows connections from the inventory's hosts only
/// (plus any extra CIDRs an operator names).</summary>
public static class AgentConfiguration
{
    public static AgentOptions FromInventory(MigrationInventory inventory, string hostName, HostCredentials credentials,
        IEnumerable<IPNetwork> extraAllowed, Action<string> log)
    {
        var host = inventory.Host(hostName);
        var listen = host.Interfaces.Where(i => i.IsUp)
            .SelectMany(i => i.Addresses)
            .Select(a => new IPEndPoint(a.Address, host.AgentPort))
            .ToList();
        var allowed = inventory.Hosts
            .SelectMany(h => h.Interfaces.SelectMany(i => i.Addresses))
            .Select(a => new IPNetwork(a.Address, a.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128))
            .Concat(extraAllowed)
            .Distinct()
            .ToList();
        return new AgentOptions
        {
            HostName = host.Name,
            Listen = listen,
            Credentials = credentials,
            AllowFrom = allowed,
            Log = log,
        };
    }
}
