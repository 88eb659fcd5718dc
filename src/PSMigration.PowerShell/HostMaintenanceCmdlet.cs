using System.Management.Automation;
using PSMigration.Core.Inventory;

namespace PSMigration.PowerShell;

/// <summary>Puts hosts in maintenance, or takes them out, in the inventory file (only their <c>maintenance</c> line
/// changes; the write takes the inventory's lock). The two cmdlets differ only in the value they set.</summary>
public abstract class HostMaintenanceCmdlet(bool maintenance) : MigrationCmdlet
{
    /// <summary>Host names (wildcards allowed), or host objects (Get-MigrationHost) through their Name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("HostName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Write each host, as the inventory now has it.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private string What => maintenance ? "Put in maintenance (no VM is moved to it)" : "Take out of maintenance (VMs may be moved to it again)";

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var path = ResolvedInventoryPath();
            foreach (var host in InventoryNames.Resolve(this, Inventory(), InventoryNameKind.Host, Name))
            {
                Try(host, () =>
                {
                    if (!MaintenanceEditor.Set(path, host, maintenance, write: false).Changed)
                        Log.Verbose($"{host} is {(maintenance ? "in maintenance" : "not in maintenance")} already; {path} is unchanged.");
                    else if (ShouldProcess($"{What}: host {host} in {path}", $"{What}: host {host} in {path}?", MyInvocation.MyCommand.Name))
                    {
                        MaintenanceEditor.Set(path, host, maintenance, write: true);
                        Log.Verbose($"{path}: {host} {(maintenance ? "is in maintenance: maintenance: true" : "is out of maintenance: its maintenance line is removed")}");
                    }
                    if (PassThru) WriteObject(InventoryLoader.Load(path).Host(host));
                });
            }
        });
    }
}

/// <summary>Puts hosts in maintenance: the planner never chooses them as a destination (and says so), until
/// Resume-MigrationHost. Their VMs stay where they are.</summary>
[Cmdlet(VerbsLifecycle.Suspend, "MigrationHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MigrationHost))]
public sealed class SuspendMigrationHostCommand() : HostMaintenanceCmdlet(maintenance: true);

/// <summary>Takes hosts out of maintenance: VMs may be planned to them again.</summary>
[Cmdlet(VerbsLifecycle.Resume, "MigrationHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MigrationHost))]
public sealed class ResumeMigrationHostCommand() : HostMaintenanceCmdlet(maintenance: false);
