using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.Core.Planning;

/// <summary>How one host reaches another's agent to ask it for something that is not migration data (a migration it is
/// the source of, driven from a runbook's host): over a management network both are on, else over the network a
/// migration between them would use. The ask is small; the management network is what is up while a migration
/// network is being worked on.</summary>
public static class AgentPath
{
    public static SharedNetwork Between(MigrationInventory inventory, MigrationHost from, MigrationHost to)
    {
        var (shared, _, _) = NetworkSelector.Shared(inventory, from, to);
        if (shared.FirstOrDefault(s => s.Network.Role == NetworkRole.Management) is { } management) return management;
        var choice = NetworkSelector.Select(inventory, from, to, null); // no shared network: fails, saying why for each
        return new SharedNetwork(choice.Network, choice.Source, choice.Destination, choice.BandwidthGbps);
    }
}
