using System.Management.Automation;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Operations;

namespace PSMigration.PowerShell;

/// <summary>Puts hosts in maintenance, or takes them out, in the inventory file (only their <c>maintenance</c> line
/// changes; the write takes the inventory's lock); with -Drain or -Failback, also moves their VMs (<see cref="HostMoves"/>)
/// and writes the summary. The two cmdlets differ only in the value they set and the moves they make.</summary>
public abstract class HostMaintenanceCmdlet(bool maintenance) : SourceHostCmdlet
{
    protected const string OnlyMaintenance = "Maintenance";

    /// <summary>Host names (wildcards allowed), or host objects (Get-MigrationHost) through their Name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("HostName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Write each host, as the inventory now has it.</summary>
    [Parameter(ParameterSetName = OnlyMaintenance)]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Whether VMs move too (-Drain, -Failback).</summary>
    protected abstract bool Moving { get; }
    /// <summary>Run the moves in the background and return a job (Receive-Job gives the summary).</summary>
    protected abstract bool InBackground { get; }

    /// <summary>The moves for a host: its drain or its failback.</summary>
    private protected abstract HostMoves Plan(string path, string host, HostMoveOptions options);

    private string What => maintenance ? "Put in maintenance (no VM is moved to it)" : "Take out of maintenance (VMs may be moved to it again)";

    /// <summary>The switch that makes VMs move, named for the error when its companions come without it.</summary>
    protected abstract string MovingSwitch { get; }

    protected override void ProcessRecord()
    {
        if (!Moving && ParameterSetName != OnlyMaintenance)
        {
            var companions = MyInvocation.BoundParameters.Keys.Where(k => k is "Destination" or "AsJob").ToList();
            var error = new MigrationException($"{MovingSwitch}Missing", FailureKind.InvalidInput,
                $"-{string.Join(" and -", companions)} {(companions.Count == 1 ? "goes" : "go")} with -{MovingSwitch}: give -{MovingSwitch} too", MovingSwitch);
            ThrowTerminatingError(ToErrorRecord(error, null));
        }
        Try(InventoryPath, () =>
        {
            var path = ResolvedInventoryPath();
            foreach (var host in InventoryNames.Resolve(this, Inventory(), InventoryNameKind.Host, Name))
                Try(host, () => { if (Moving) Move(path, host); else SetOnly(path, host); });
        });
    }

    private void SetOnly(string path, string host)
    {
        if (!MaintenanceEditor.Set(path, host, maintenance, write: false).Changed)
            Log.Verbose($"{host} is {(maintenance ? "in maintenance" : "not in maintenance")} already; {path} is unchanged.");
        else if (ShouldProcess($"{What}: host {host} in {path}", $"{What}: host {host} in {path}?", MyInvocation.MyCommand.Name))
        {
            MaintenanceEditor.Set(path, host, maintenance, write: true);
            Log.Verbose($"{path}: {host} {(maintenance ? "is in maintenance: maintenance: true" : "is out of maintenance: its maintenance line is removed")}");
        }
        if (PassThru) WriteObject(InventoryLoader.Load(path).Host(host));
    }

    private void Move(string path, string host)
    {
        var moves = Plan(path, host, new HostMoveOptions { PkiDirectory = PkiDirectory, RunDirectory = RunDirectoryPath, Log = Log });
        foreach (var note in moves.Notes) WriteWarning(note);
        var action = maintenance ? $"Put {moves.Host} in maintenance and move its VMs off it" : $"Take {moves.Host} out of maintenance and bring back its VMs";
        if (!ShouldProcess($"{action}:{Environment.NewLine}{moves.Describe()}", $"{action} ({moves.Plans.Count} move(s))?", MyInvocation.MyCommand.Name)) return;
        if (InBackground)
        {
            var job = new MigrationJob(MyInvocation.Line, $"{(maintenance ? "drain of" : "failback to")} {moves.Host}: {moves.Plans.Count} move(s)",
                async (progress, finished, cancel, log) =>
                {
                    var bar = new MovesProgress(moves, maintenance, progress);
                    var summary = await moves.RunAsync(bar.PerMove, result => { bar.Finished(result); finished(result); }, cancel, log);
                    bar.Done();
                    return summary;
                }, null, writeResults: false, VerboseWanted, Log.DebugEnabled);
            JobRepository.Add(job);
            job.Start();
            WriteObject(job);
            return;
        }
        var summary = RunOnPipeline((post, cancel) =>
        {
            var bar = new MovesProgress(moves, maintenance, record => post(() => WriteProgress(record)));
            return moves.RunAsync(bar.PerMove, result => post(() =>
            {
                bar.Finished(result);
                foreach (var warning in result.Warnings) WriteWarning(warning);
                if (!result.Succeeded) WriteError(MigrationJob.ErrorOf(result));
            }), cancel);
        }, stopped: TellStopped);
        WriteProgress(new ProgressRecord(1, MovesProgress.Activity(moves, maintenance), "done") { RecordType = ProgressRecordType.Completed });
        WriteObject(summary);
    }

    /// <summary>After Ctrl+C: what moved, what was cancelled (it runs where it was), and that the inventory says where
    /// every VM is; the summary is the target of the record in $Error.</summary>
    private void TellStopped(DrainSummary summary)
    {
        var line = $"{(maintenance ? "the drain of" : "the failback to")} {summary.Host} was stopped: moved {summary.Moved.Count}" +
                   (summary.Moved.Count > 0 ? $" ({summary.Moved})" : "") +
                   (summary.Failed.Count > 0 ? $"; not moved {summary.Failed.Count} ({summary.Failed}): each runs where it was" : "") +
                   $"; {summary.Host} is {(summary.Maintenance ? "in" : "out of")} maintenance; {summary.InventoryPath} says where every VM is.";
        var error = new MigrationException(maintenance ? "DrainStopped" : "FailbackStopped", FailureKind.OperationFailed, line, summary.Host);
        TellAfterStop(line, new ErrorRecord(error, error.ErrorId, ErrorCategory.OperationStopped, summary));
    }
}

/// <summary>A drain's (or failback's) overall progress bar, activity 1: the moves done of all and those running; each
/// running migration has its own bar under it.</summary>
internal sealed class MovesProgress(HostMoves moves, bool drain, Action<ProgressRecord> write)
{
    private int started, moved, failed;

    public static string Activity(HostMoves moves, bool drain) => drain ? $"Draining {moves.Host}" : $"Bringing VMs back to {moves.Host}";

    public IProgress<MigrationProgress> PerMove(MigrationRequest request, int index)
    {
        Interlocked.Increment(ref started);
        Write();
        return new ProgressReporter(request, index + 2, write, parentId: 1);
    }

    public void Finished(MigrationResult result)
    {
        Interlocked.Increment(ref result.Succeeded ? ref moved : ref failed);
        Write();
    }

    public void Done() => write(new ProgressRecord(1, Activity(moves, drain), "done") { RecordType = ProgressRecordType.Completed });

    private void Write()
    {
        var total = moves.Plans.Count;
        var done = Volatile.Read(ref moved) + Volatile.Read(ref failed);
        write(new ProgressRecord(1, Activity(moves, drain),
            $"{Volatile.Read(ref moved)} of {total} moved, {Volatile.Read(ref failed)} failed, {Volatile.Read(ref started) - done} running")
        {
            PercentComplete = total == 0 ? 100 : 100 * done / total,
        });
    }
}

/// <summary>Puts hosts in maintenance: the planner never chooses them as a destination (and says so), until
/// Resume-MigrationHost. With -Drain, it then moves every VM off the host as Get-MigrationPlan -FromHost plans it (run
/// it on that host, or on any host of the cluster: the host's agent runs the moves), goes on past a VM that fails, and
/// writes a summary; Ctrl+C or Stop-Job starts no new move and cancels the running ones.</summary>
[Cmdlet(VerbsLifecycle.Suspend, "MigrationHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = OnlyMaintenance)]
[OutputType(typeof(MigrationHost), ParameterSetName = [OnlyMaintenance])]
[OutputType(typeof(DrainSummary), ParameterSetName = [DrainSet])]
public sealed class SuspendMigrationHostCommand() : HostMaintenanceCmdlet(maintenance: true)
{
    private const string DrainSet = "Drain";

    /// <summary>Move every VM off the host (a destination each, within the hosts' free memory and the concurrency limits).</summary>
    [Parameter(ParameterSetName = DrainSet)]
    public SwitchParameter Drain { get; set; }

    /// <summary>Only these hosts take the drained VMs (all that can, when not given).</summary>
    [Parameter(ParameterSetName = DrainSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[] Destination { get; set; } = [];

    /// <summary>Drain in the background and return a job (Receive-Job gives the summary; Stop-Job cancels).</summary>
    [Parameter(ParameterSetName = DrainSet)]
    public SwitchParameter AsJob { get; set; }

    protected override bool Moving => Drain;
    protected override string MovingSwitch => nameof(Drain);
    protected override bool InBackground => AsJob;

    private protected override HostMoves Plan(string path, string host, HostMoveOptions options) =>
        HostMoves.Drain(path, host, Destination.Length > 0 ? Destination : null, options);
}

/// <summary>Takes hosts out of maintenance: VMs may be planned to them again. With -Failback, it then brings back the
/// VMs its drains moved away that are still where the drain put them, and writes a summary.</summary>
[Cmdlet(VerbsLifecycle.Resume, "MigrationHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = OnlyMaintenance)]
[OutputType(typeof(MigrationHost), ParameterSetName = [OnlyMaintenance])]
[OutputType(typeof(DrainSummary), ParameterSetName = [FailbackSet])]
public sealed class ResumeMigrationHostCommand() : HostMaintenanceCmdlet(maintenance: false)
{
    private const string FailbackSet = "Failback";

    /// <summary>Bring back the VMs the host's drains moved away (from wherever they are now: their hosts' agents move them).</summary>
    [Parameter(ParameterSetName = FailbackSet)]
    public SwitchParameter Failback { get; set; }

    /// <summary>Fail back in the background and return a job (Receive-Job gives the summary; Stop-Job cancels).</summary>
    [Parameter(ParameterSetName = FailbackSet)]
    public SwitchParameter AsJob { get; set; }

    protected override bool Moving => Failback;
    protected override string MovingSwitch => nameof(Failback);
    protected override bool InBackground => AsJob;

    private protected override HostMoves Plan(string path, string host, HostMoveOptions options) => HostMoves.Failback(path, host, options);
}
