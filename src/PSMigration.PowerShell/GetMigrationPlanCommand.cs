using System.Management.Automation;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

namespace PSMigration.PowerShell;

/// <summary>Which network and how many connections a VM's migration would use, and why.</summary>
[Cmdlet(VerbsCommon.Get, "MigrationPlan")]
[OutputType(typeof(MigrationPlan))]
public sealed class GetMigrationPlanCommand : MigrationCmdlet
{
    /// <summary>VM names (wildcards allowed), or VM objects (from Get-MigrationVM) through their Name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name", "VMName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] VM { get; set; } = [];

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("DestinationHost")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string Destination { get; set; } = "";

    /// <summary>Use this network instead of the planner's choice (it must be shared by both hosts).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string? Network { get; set; }

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var inventory = Inventory();
            foreach (var vm in InventoryNames.Resolve(this, inventory, InventoryNameKind.Vm, VM))
            {
                Try(vm, () =>
                {
                    var plan = MigrationPlanner.Plan(inventory, vm, Destination, Network);
                    Log.TellPlan(plan);
                    foreach (var warning in plan.Warnings) WriteWarning($"{plan.Vm}: {warning}");
                    WriteObject(plan);
                });
            }
        });
    }
}
