using System.Management.Automation;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

using PSMigration.Qemu.Operations;

namespace PSMigration.PowerShell;

/// <summary>Which network and how many connections a VM's migration would use, and why; with <c>-FromHost</c>, how a
/// host would be emptied: a plan per VM in the drain's order with its predicted times, and an error for each VM that
/// no host can take.</summary>
[Cmdlet(VerbsCommon.Get, "MigrationPlan", DefaultParameterSetName = ByVm)]
[OutputType(typeof(MigrationPlan))]
public sealed class GetMigrationPlanCommand : MigrationCmdlet
{
    private const string ByVm = "ByVM";
    private const string ByHost = "FromHost";

    /// <summary>VM names (wildcards allowed), or VM objects (from Get-MigrationVM) through their Name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByVm)]
    [Alias("Name", "VMName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] VM { get; set; } = [];

    /// <summary>The host to empty (a drain plan): every VM the inventory places on it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByHost)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string FromHost { get; set; } = "";

    /// <summary>Where the VM goes (needed for a VM's plan; several: a plan for each); with -FromHost, the hosts the drain
    /// may use (all that can, when not given).</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("DestinationHost")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[] Destination { get; set; } = [];

    /// <summary>Use this network instead of the planner's choice (it must be shared by both hosts).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ByVm)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string? Network { get; set; }

    /// <summary>Sample each running VM's dirty rate (1 s, over its QMP socket or through libvirt: run it on the VM's host) and add a prediction:
    /// whether it converges, in how many passes and how long, and which action it needs.</summary>
    [Parameter(ParameterSetName = ByVm)]
    public SwitchParameter Predict { get; set; }

    /// <summary>With -Predict: the run directory of this host ({runDir} in the inventory), where the VMs' QMP sockets are.</summary>
    [Parameter(ParameterSetName = ByVm)]
    [ValidateNotNullOrEmpty]
    public string RunDirectory { get; set; } = Qemu.Launch.RunDirectory.Default;

    /// <summary>With -Predict: predict with this bandwidth (Test-MigrationNetwork's ThroughputGbps) instead of the plan's.</summary>
    [Parameter(ParameterSetName = ByVm)]
    [ValidateRange(0.001, 10000)]
    public double? MeasuredGbps { get; set; }

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var inventory = Inventory();
            if (ParameterSetName == ByHost)
            {
                WriteDrain(inventory);
                return;
            }
            if (MeasuredGbps is not null && !Predict)
                throw new MigrationException("PredictMissing", FailureKind.InvalidInput, "-MeasuredGbps is the bandwidth -Predict predicts with: give -Predict too", "MeasuredGbps");
            if (Destination.Length == 0)
                throw new MigrationException("DestinationMissing", FailureKind.InvalidInput,
                    "Give -Destination: the host to plan the move to (or -FromHost to plan a host's drain)", "Destination");
            foreach (var vm in InventoryNames.Resolve(this, inventory, InventoryNameKind.Vm, VM))
            foreach (var destination in Destination)
            {
                Try(vm, () =>
                {
                    var plan = MigrationPlanner.Plan(inventory, vm, destination, Network);
                    if (Predict)
                        plan = RunOnPipeline((_, cancel) => ConvergenceForecast.PredictAsync(inventory, plan, GetUnresolvedProviderPathFromPSPath(RunDirectory),
                            MeasuredGbps, Log, cancel));
                    Log.TellPlan(plan);
                    foreach (var warning in plan.Warnings) WriteWarning($"{plan.Vm}: {warning}");
                    WriteObject(plan);
                });
            }
        });
    }

    /// <summary>The drain's plans in order, each VM no host can take as an error, and the drain's reasons and time in -Verbose.</summary>
    private void WriteDrain(MigrationInventory inventory)
    {
        var hosts = InventoryNames.Resolve(this, inventory, InventoryNameKind.Host, [FromHost]).ToList();
        var destinations = Destination.Length == 0 ? null : InventoryNames.Resolve(this, inventory, InventoryNameKind.Host, Destination).ToList();
        foreach (var host in hosts)
        {
            var drain = DrainPlanner.Plan(inventory, host, destinations);
            foreach (var reason in drain.Reasons) Log.Verbose($"Drain of {drain.Host}: {reason}");
            Log.Verbose($"Drain of {drain.Host}: {drain.Plans.Count} move(s), predicted {drain.PredictedSeconds:0.#} s; {drain.Unplaced.Count} VM(s) no host can take");
            foreach (var plan in drain.Plans)
            {
                foreach (var warning in plan.Warnings) WriteWarning($"{plan.Vm}: {warning}");
                WriteObject(plan);
            }
            foreach (var vm in drain.Unplaced)
                WriteError(ToErrorRecord(new MigrationException("VMNotPlaceable", FailureKind.OperationFailed,
                    $"{vm.Vm} cannot leave {drain.Host}: {vm.Reason}", vm.Vm), vm.Vm));
        }
    }
}
