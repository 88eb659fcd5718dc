using System.Management.Automation;
using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Migration;

namespace PSMigration.PowerShell;

/// <summary>-AsJob for the cmdlets that migrate (Start-VMMigration, Suspend-MigrationHost -Drain, Resume-MigrationHost
/// -Failback): the migrations run in the background; Receive-Job gives the output (each MigrationResult, or the drain's
/// summary at its end) with the errors, warnings, progress and, with -Verbose or -Debug, the story; Stop-Job cancels
/// and returns once they have stopped, each VM running where it was.</summary>
internal sealed class MigrationJob : Job
{
    /// <summary>The work: where its progress records go, a sink for each result, the cancel, the job's log; returns what
    /// the job ends with in its output (a summary), or null.</summary>
    public delegate Task<object?> Work(Action<ProgressRecord> progress, Action<MigrationResult> finished, CancellationToken cancel, IActivityLog log);

    private readonly Work work;
    private readonly IDisposable? owned;
    private readonly bool writeResults;
    private readonly JobLog log;
    private readonly CancellationTokenSource cancel = new();
    private Task run = Task.CompletedTask;

    /// <param name="status">What the job does, for Get-Job.</param>
    /// <param name="owned">Released when the work is done (the launch's credentials).</param>
    /// <param name="writeResults">Each result goes to the output as it comes (else only failures, as errors).</param>
    public MigrationJob(string command, string status, Work work, IDisposable? owned, bool writeResults, bool verbose, bool debug)
        : base(command, "VMMigration")
    {
        StatusMessage = status;
        this.work = work;
        this.owned = owned;
        this.writeResults = writeResults;
        log = new JobLog(this, verbose, debug);
        PSJobTypeName = "VMMigrationJob";
    }

    public override string StatusMessage { get; }
    public override bool HasMoreData =>
        Output.Count > 0 || Error.Count > 0 || Progress.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Debug.Count > 0;
    public override string Location => Environment.MachineName;

    public void Start()
    {
        SetJobState(JobState.Running);
        run = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var failed = false;
        try
        {
            var end = await work(
                Progress.Add,
                result =>
                {
                    foreach (var warning in result.Warnings) Warning.Add(new WarningRecord(warning));
                    if (!result.Succeeded)
                    {
                        failed = true;
                        Error.Add(ErrorOf(result));
                    }
                    if (writeResults) Output.Add(PSObject.AsPSObject(result));
                }, cancel.Token, log);
            if (end is not null) Output.Add(PSObject.AsPSObject(end));
            SetJobState(cancel.IsCancellationRequested ? JobState.Stopped : failed ? JobState.Failed : JobState.Completed);
        }
        catch (Exception e)
        {
            Error.Add(e is MigrationException m ? MigrationCmdlet.ToErrorRecord(m, null) : new ErrorRecord(e, "MigrationJobFailed", ErrorCategory.OperationStopped, null));
            SetJobState(cancel.IsCancellationRequested ? JobState.Stopped : JobState.Failed);
        }
        finally
        {
            owned?.Dispose();
        }
    }

    /// <summary>Cancels, then waits for the rollbacks: Stop-Job returns with the job Stopped and its results there.</summary>
    public override void StopJob()
    {
        cancel.Cancel();
        run.Wait();
    }

    /// <summary>A failed or cancelled migration as an ErrorRecord: its error id, a category, and the result as the target.</summary>
    public static ErrorRecord ErrorOf(MigrationResult result)
    {
        var kind = result.Status == MigrationStatusNames.Cancelled ? ErrorCategory.OperationStopped : ErrorCategory.InvalidOperation;
        var error = new MigrationException(result.ErrorId ?? "MigrationFailed", FailureKind.OperationFailed, result.Error ?? result.Status, result.Vm);
        return new ErrorRecord(error, error.ErrorId, kind, result);
    }

    /// <summary>The job's Verbose and Debug streams as the migrations' log.</summary>
    private sealed class JobLog(MigrationJob job, bool verbose, bool debug) : IActivityLog
    {
        public bool DebugEnabled => debug;

        public void Verbose(string message)
        {
            if (verbose) job.Verbose.Add(new VerboseRecord(message));
        }

        public void Debug(string message)
        {
            if (debug) job.Debug.Add(new DebugRecord(message));
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) cancel.Dispose();
        base.Dispose(disposing);
    }
}
