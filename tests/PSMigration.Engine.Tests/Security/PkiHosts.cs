using PSMigration.Core.Inventory;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Tests.Security;

/// <summary>The hosts of an inventory as the PKI takes them (the module's own mapping is in PSMigration.Qemu's
/// ClusterCertificates, which these engine tests do not reference).</summary>
internal static class PkiHosts
{
    public static IReadOnlyList<PkiHost> Of(MigrationInventory inventory) =>
        inventory.Hosts.Select(h => new PkiHost(h.Name, h.Interfaces.SelectMany(i => i.Addresses).Select(a => a.Address).ToList(), h.Location.ToString())).ToList();
}
