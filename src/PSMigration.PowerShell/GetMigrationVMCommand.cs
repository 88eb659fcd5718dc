using System.Management.Automation;
using PSMigration.Core.Inventory;

namespace PSMigration.PowerShell;

/// <summary>The VMs of the inventory, for piping into Get-MigrationPlan and Get-MigrationPolicy.</summary>
[Cmdlet(VerbsCommon.Get, "MigrationVM")]
[OutputType(typeof(VirtualMachine))]
public sealed class GetMigrationVMCommand : MigrationCmdlet
{
    /// <summary>Names; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = ["*"];

    /// <summary>Only the VMs on these hosts (wildcards allowed).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [Alias("Host")]
    public string[]? HostName { get; set; }

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var vms = Inventory().Vms.Where(vm => HostName is null || NameFilter.Matches(vm.Host, HostName));
            NameFilter.Write(this, vms, vm => vm.Name, Name, "VM", "VMNotFound");
        });
    }
}
