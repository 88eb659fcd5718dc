using PSMigration.Core.Inventory;
using PSMigration.Engine.Security;

namespace PSMigration.Qemu.Operations;

/// <summary>The cluster PKI of an inventory (New-MigrationCertificate, psmig cert init): a certificate for every host,
/// naming all its addresses.</summary>
public static class ClusterCertificates
{
    public static IReadOnlyList<PkiHost> Hosts(MigrationInventory inventory) =>
        inventory.Hosts.Select(h => new PkiHost(h.Name, h.Interfaces.SelectMany(i => i.Addresses).Select(a => a.Address).ToList(), h.Location.ToString())).ToList();

    /// <summary>The files <see cref="Initialize"/> would write (for -WhatIf).</summary>
    public static IReadOnlyList<string> Plan(MigrationInventory inventory, string directory, bool force = false) =>
        ClusterPki.Plan(Hosts(inventory), directory, force);

    public static IReadOnlyList<string> Initialize(MigrationInventory inventory, string directory, bool force = false) =>
        ClusterPki.Initialize(Hosts(inventory), directory, force);
}
