using System.Management.Automation;
using PSMigration.Core.Inventory;

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
                var hosts = InputObject.Select(h => h.Name).ToHashSet(MigrationInventory.NameComparer);
                WriteObject(Inventory().Vms.Where(vm => hosts.Contains(vm.Host)), enumerateCollection: true);
                return;
            }
            var inventory = Inventory();
            var onHosts = HostName is null ? null : InventoryNames.Resolve(this, inventory, InventoryNameKind.Host, HostName).ToHashSet();
            var names = InventoryNames.Resolve(this, inventory, InventoryNameKind.Vm, Name, MyInvocation.BoundParameters.ContainsKey(nameof(Name)));
            foreach (var vm in names.Select(inventory.Vm).Where(vm => onHosts is null || onHosts.Contains(vm.Host)))
                WriteObject(vm);
        });
    }
}
