using System.Management.Automation;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Core.Policies;
using PSMigration.Qemu;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Operations;

namespace PSMigration.PowerShell;

/// <summary>Live-migrates QEMU VMs (over QMP) or libvirt domains (through libvirt) to another host over the planned network, with the planned number
/// of parallel connections. Run it on the source host. VMs piped in run at once, within each source
/// host's maxConcurrentOutgoing; Ctrl+C cancels, leaves them running where they were, and says so.</summary>
[Cmdlet(VerbsLifecycle.Start, "VMMigration", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MigrationResult))] // with -AsJob, a Job whose output is MigrationResult objects
public sealed class StartVMMigrationCommand : SourceHostCmdlet
{
    private readonly List<MigrationRequest> requests = new();
    /// <summary>Results already written to the pipeline; after a Ctrl+C the others are told on the host.</summary>
    private readonly HashSet<MigrationResult> written = new(ReferenceEqualityComparer.Instance);

    /// <summary>VM names (wildcards allowed), or VM objects (Get-MigrationVM) and plans (Get-MigrationPlan) through their Name or Vm.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VM", "VMName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("DestinationHost")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string Destination { get; set; } = "";

    /// <summary>Use this network instead of the planner's choice.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string? Network { get; set; }

    /// <summary>Direct or Engine, instead of the policy's.</summary>
    [Parameter]
    public MigrationTransport? Transport { get; set; }

    /// <summary>Parallel connections (multifd channels) instead of the plan's; 1 turns parallel off.</summary>
    [Parameter]
    [ValidateRange(1, PolicyKeys.MaxChannels)]
    public int? Connections { get; set; }

    /// <summary>Copy the VM's writable local disks before its memory this once (storage: copy), whatever the policy says.</summary>
    [Parameter]
    public SwitchParameter CopyStorage { get; set; }

    /// <summary>Switch to post-copy once the first pass has sent all of RAM, allowing post-copy for this run (postcopy: true)
    /// whatever the policy says: the VM then runs at the destination, which pulls the pages it lacks.</summary>
    [Parameter]
    public SwitchParameter Postcopy { get; set; }

    /// <summary>Switch to post-copy this many seconds after memory starts moving (0: after the first pass); implies -Postcopy.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int? PostcopyAfterSeconds { get; set; }

    /// <summary>The timeout: a migration that has not converged this many seconds after memory starts moving takes the
    /// policy's timeoutAction (by default it is cancelled, and the VM runs on at the source).</summary>
    [Parameter]
    [ValidateRange(1, 604800)]
    public int? TimeoutSeconds { get; set; }

    /// <summary>Do not record the VM's new host in the inventory.</summary>
    [Parameter]
    public SwitchParameter NoInventoryUpdate { get; set; }

    /// <summary>Run in the background and return a job (Receive-Job gives the results).</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        Try(InventoryPath, () =>
        {
            var inventory = Inventory();
            var postcopyAfter = PostcopyAfterSeconds is { } after ? TimeSpan.FromSeconds(after) : Postcopy ? TimeSpan.Zero : (TimeSpan?)null;
            var options = new MigrationOptions
            {
                Destination = Destination,
                Network = Network,
                Overrides = new PlanOverrides(Transport, Connections, CopyStorage, Postcopy: postcopyAfter is not null),
                PostcopyAfter = postcopyAfter,
                PkiDirectory = PkiDirectory,
                RunDirectory = RunDirectoryPath,
                Timeout = TimeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                UpdateInventory = !NoInventoryUpdate,
                Log = Log,
            };
            foreach (var vm in InventoryNames.Resolve(this, inventory, InventoryNameKind.Vm, Name)) Try(vm, () => Prepare(options.RequestFor(inventory, vm)));
        });
    }

    /// <summary>Unless -WhatIf (or a No to -Confirm) says otherwise, queues the migration for EndProcessing. Only -WhatIf
    /// samples the guest for the convergence step: a migration that runs is not held up a second or two for it.</summary>
    private void Prepare(MigrationRequest request)
    {
        var plan = request.Plan;
        foreach (var warning in plan.Warnings) WriteWarning(warning);
        var what = $"{plan.Vm}: {plan.SourceHost} -> {plan.DestinationHost} over '{plan.Network}' ({plan.TransportSummary})";
        var described = WhatIfWanted ? RunOnPipeline((_, cancel) => MigrationPreview.ForAsync(request, cancel)).Steps : MigrationBackends.Describe(request);
        var steps = string.Join(Environment.NewLine, described.Select((s, i) => $"  {i + 1,2}. {s}"));
        if (ShouldProcess($"Live-migrate {what}:{Environment.NewLine}{steps}", $"Live-migrate {what}?", "Start-VMMigration"))
            requests.Add(request);
    }

    protected override void EndProcessing()
    {
        if (requests.Count == 0) return;
        Try(null, () =>
        {
            var launch = new MigrationLaunch(requests); // this host's credentials: a missing certificate fails here
            if (AsJob)
            {
                var job = new MigrationJob(MyInvocation.Line, $"{launch.Requests.Count} migration(s)",
                    async (progress, finished, cancel, log) =>
                    {
                        await launch.RunAsync((request, index) => new ProgressReporter(request, index + 1, progress), finished, cancel, log);
                        return null;
                    },
                    launch, writeResults: true, VerboseWanted, Log.DebugEnabled);
                JobRepository.Add(job);
                job.Start();
                WriteObject(job);
                return;
            }
            using (launch)
            {
                RunOnPipeline((post, cancel) => launch.RunAsync(
                    (request, index) => new ProgressReporter(request, index + 1, record => post(() => WriteProgress(record))),
                    result => post(() => WriteResult(result)), cancel),
                    stopped: TellStopped);
            }
        });
    }

    private void WriteResult(MigrationResult result)
    {
        foreach (var warning in result.Warnings) WriteWarning(warning);
        if (!result.Succeeded) WriteError(MigrationJob.ErrorOf(result));
        WriteObject(result);
        written.Add(result);
    }

    /// <summary>After Ctrl+C: where each VM stands, on the host, and each failed or cancelled migration's
    /// ErrorRecord (its target the MigrationResult) in $Error.</summary>
    private void TellStopped(IReadOnlyList<MigrationResult> results)
    {
        foreach (var result in results.Where(r => !written.Contains(r)))
        {
            if (result.Succeeded)
                TellAfterStop($"{result.Vm}: {result.Status}: it runs on {result.DestinationHost} (it finished before the stop took effect).", null);
            else
                TellAfterStop($"{result.Vm}: {result.Status}: {result.Error} (its record is in $Error, with the MigrationResult as TargetObject.)", MigrationJob.ErrorOf(result));
        }
    }
}

/// <summary>A migration's progress as its own Write-Progress activity (one per VM, so several show at once; under a
/// drain's overall bar when <paramref name="parentId"/> is given).</summary>
internal sealed class ProgressReporter(MigrationRequest request, int activityId, Action<ProgressRecord> write, int parentId = -1) : IProgress<MigrationProgress>
{
    public void Report(MigrationProgress value)
    {
        var plan = request.Plan;
        var record = new ProgressRecord(activityId, $"Migrating {plan.Vm} to {plan.DestinationHost} over {plan.Network}", value.Describe())
        {
            PercentComplete = (int)Math.Round(value.Percent),
            CurrentOperation = value.Phase,
            RecordType = value.Phase == "completed" ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            ParentActivityId = parentId,
        };
        write(record);
    }
}
