using System.Management.Automation;
using PSMigration.Core.Planning;
using PSMigration.PowerShell.Completion;

namespace PSMigration.PowerShell;

/// <summary>Which network and how many connections a VM's migration would use, and why.</summary>
[Cmdlet(VerbsCommon.Get, "MigrationPlan")]
[OutputType(typeof(MigrationPlan))]
public sealed class GetMigrationPlanCommand : MigrationCmdlet
{
    /// <summary>VM names, or VM objects (from Get-MigrationVM) through their Name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name", "VMName")]
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
        foreach (var vm in VM)
        {
            Try(vm, () =>
            {
                var plan = MigrationPlanner.Plan(Inventory(), vm, Destination, Network);
                foreach (var warning in plan.Warnings) WriteWarning($"{plan.Vm}: {warning}");
                WriteObject(plan);
            });
        }
    }
}
