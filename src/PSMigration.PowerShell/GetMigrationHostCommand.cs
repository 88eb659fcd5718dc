using System.Management.Automation;
using PSMigration.Core.Inventory;

namespace PSMigration.PowerShell;

/// <summary>The hosts of the inventory with their interfaces.</summary>
[Cmdlet(VerbsCommon.Get, "MigrationHost")]
[OutputType(typeof(MigrationHost))]
public sealed class GetMigrationHostCommand : MigrationCmdlet
{
    /// <summary>Names; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[] Name { get; set; } = ["*"];

    /// <summary>Only the hosts of these clusters (wildcards allowed).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[]? Cluster { get; set; }

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var inventory = Inventory();
            var clusters = Cluster is null ? null : InventoryNames.Resolve(this, inventory, InventoryNameKind.Cluster, Cluster).ToHashSet();
            var names = InventoryNames.Resolve(this, inventory, InventoryNameKind.Host, Name, MyInvocation.BoundParameters.ContainsKey(nameof(Name)));
            foreach (var host in names.Select(inventory.Host).Where(h => clusters is null || (h.Cluster is { } c && clusters.Contains(c))))
                WriteObject(host);
        });
    }
}
