using System.Management.Automation;
using PSMigration.Core.Inventory;
using PSMigration.Qemu.Readiness;

namespace PSMigration.PowerShell;

/// <summary>Whether VMs can move to other hosts now, without moving anything: the plan resolves, the
/// destination agent answers over the planned network with the cluster certificates and would start the
/// VM's QEMU (or the destination's libvirt answers), the destination has the memory free, the VM runs here
/// and answers, and the MTU agrees end to end. Run it on the source host; for Pester suites, -Quiet gives
/// one boolean per VM and destination.</summary>
[Cmdlet(VerbsDiagnostic.Test, "VMMigration")]
[OutputType(typeof(MigrationReadiness))]
[OutputType(typeof(bool))] // -Quiet
public sealed class TestVMMigrationCommand : SourceHostCmdlet
{
    /// <summary>VM names (wildcards allowed), or VM objects and plans through their Name or Vm.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("VM", "VMName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>The hosts to check against (wildcards allowed); default: every other host of the VM's cluster.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("DestinationHost")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[]? Destination { get; set; }

    /// <summary>One boolean per VM and destination (ready or not) instead of the results.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var inventory = Inventory();
            var destinations = Destination is null ? null : InventoryNames.Resolve(this, inventory, InventoryNameKind.Host, Destination);
            if (destinations is { Count: 0 }) return; // the error says which pattern matched nothing
            foreach (var vm in InventoryNames.Resolve(this, inventory, InventoryNameKind.Vm, Name))
            {
                Try(vm, () =>
                {
                    var here = inventory.Vm(vm).Host;
                    if (destinations is not null && destinations.Contains(here))
                        WriteWarning($"{vm} is on {here} already: that pair is not checked.");
                    var request = new ReadinessRequest
                    {
                        Inventory = inventory,
                        Vm = vm,
                        Destinations = destinations?.Where(d => d != here).ToList(),
                        PkiDirectory = PkiDirectory,
                        RunDirectory = RunDirectoryPath,
                        Log = Log,
                    };
                    var results = RunWithProgress($"Test-VMMigration {vm}", (progress, cancel) => ReadinessChecker.CheckAsync(request, progress, cancel));
                    foreach (var result in results) WriteObject(Quiet ? result.Ready : result);
                });
            }
        });
    }
}
