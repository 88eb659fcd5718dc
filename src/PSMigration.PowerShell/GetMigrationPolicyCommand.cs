using System.Management.Automation;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;

namespace PSMigration.PowerShell;

/// <summary>The migration policy in force for clusters or VMs, with where each value comes from.
/// Without -Cluster or -VM: every cluster's policy.</summary>
[Cmdlet(VerbsCommon.Get, "MigrationPolicy", DefaultParameterSetName = ClusterSet)]
[OutputType(typeof(EffectivePolicy))]
public sealed class GetMigrationPolicyCommand : MigrationCmdlet
{
    private const string ClusterSet = "Cluster";
    private const string VMSet = "VM";

    /// <summary>Cluster names; wildcards allowed. Default: all.</summary>
    [Parameter(ParameterSetName = ClusterSet, Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[]? Cluster { get; set; }

    /// <summary>VM names (wildcards allowed), or VM objects through their Name.</summary>
    [Parameter(ParameterSetName = VMSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name", "VMName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] VM { get; set; } = [];

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var inventory = Inventory();
            var targets = ParameterSetName == VMSet
                ? InventoryNames.Resolve(this, inventory, InventoryNameKind.Vm, VM).Select(PolicyTarget.ForVm)
                : InventoryNames.Resolve(this, inventory, InventoryNameKind.Cluster, Cluster ?? ["*"], Cluster is not null).Select(PolicyTarget.ForCluster);
            foreach (var target in targets)
                Try(target.Name, () => WriteObject(PolicyEditor.PolicyOf(inventory, target)));
        });
    }
}
