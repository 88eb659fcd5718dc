using System.Management.Automation;
using PSMigration.Core.Inventory;
using PSMigration.PowerShell.Completion;

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

    /// <summary>Only the hosts of these clusters.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[]? Cluster { get; set; }

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var hosts = Inventory().Hosts.Where(h => Cluster is null || (h.Cluster is { } c && Cluster.Contains(c, StringComparer.OrdinalIgnoreCase)));
            NameFilter.Write(this, hosts, h => h.Name, Name, "host", "HostNotFound");
        });
    }
}
