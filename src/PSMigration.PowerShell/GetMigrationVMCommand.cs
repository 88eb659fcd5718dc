using System.Management.Automation;
using PSMigration.Core.Inventory;
using PSMigration.PowerShell.Completion;

namespace PSMigration.PowerShell;

/// <summary>The VMs of the inventory, for piping into Get-MigrationPlan and Get-MigrationPolicy.</summary>
[Cmdlet(VerbsCommon.Get, "MigrationVM", DefaultParameterSetName = NameSet)]
[OutputType(typeof(VirtualMachine))]
public sealed class GetMigrationVMCommand : MigrationCmdlet
{
    private const string NameSet = "Name";
    private const string HostObjectSet = "HostObject";

    /// <summary>Names; wildcards allowed. Default: all.</summary>
    [Parameter(ParameterSetName = NameSet, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] Name { get; set; } = ["*"];

    /// <summary>Only the VMs on these hosts (wildcards allowed).</summary>
    [Parameter(ParameterSetName = NameSet, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [Alias("Host")]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[]? HostName { get; set; }

    /// <summary>Hosts from Get-MigrationHost: the VMs on them (Get-MigrationHost kvm01 | Get-MigrationVM).</summary>
    [Parameter(ParameterSetName = HostObjectSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public MigrationHost[] InputObject { get; set; } = [];

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            if (ParameterSetName == HostObjectSet)
            {
                if (InventoryPath is null) InventoryPath = InputObject[0].InventoryPath;
                var hosts = InputObject.Select(h => h.Name).ToHashSet(StringComparer.Ordinal);
                WriteObject(Inventory().Vms.Where(vm => hosts.Contains(vm.Host)), enumerateCollection: true);
                return;
            }
            var vms = Inventory().Vms.Where(vm => HostName is null || NameFilter.Matches(vm.Host, HostName));
            NameFilter.Write(this, vms, vm => vm.Name, Name, "VM", "VMNotFound");
        });
    }
}
