using System.Management.Automation;
using PSMigration.Core.Policies;
using PSMigration.PowerShell.Completion;

namespace PSMigration.PowerShell;

/// <summary>The migration policy in force for clusters or VMs, with where each value comes from.
/// Without -Cluster or -VM: every cluster's policy.</summary>
[Cmdlet(VerbsCommon.Get, "MigrationPolicy", DefaultParameterSetName = ClusterSet)]
[OutputType(typeof(EffectivePolicy))]
public sealed class GetMigrationPolicyCommand : MigrationCmdlet
{
    private const string ClusterSet = "Cluster";
    private const string VMSet = "VM";

    [Parameter(ParameterSetName = ClusterSet, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[]? Cluster { get; set; }

    [Parameter(ParameterSetName = VMSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name", "VMName")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] VM { get; set; } = [];

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var inventory = Inventory();
            var targets = ParameterSetName == VMSet
                ? VM.Select(PolicyTarget.ForVm)
                : (Cluster ?? inventory.Clusters.Select(c => c.Name).ToArray()).Select(PolicyTarget.ForCluster);
            foreach (var target in targets)
                Try(target.Name, () => WriteObject(PolicyEditor.PolicyOf(inventory, target)));
        });
    }
}
