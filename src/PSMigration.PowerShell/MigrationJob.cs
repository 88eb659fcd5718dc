using System.Management.Automation;
using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Operations;

namespace PSMigration.PowerShell;

/// <summary>Start-VMMigration -AsJob: the migrations run in the background; Receive-Job gives their
/// results (and errors, warnings, progress and, with -Verbose or -Debug, the story); Stop-Job cancels them
/// and returns once they have stopped, each VM running where it was and its Cancelled result in the output.</summary>
internal sealed class MigrationJob : Job
{
    private readonly MigrationLaunch launch;
    private readonly JobLog log;
    private readonly CancellationTokenSource cancel = new();
    private Task run = Task.CompletedTask;

    /// <param name="launch">The migrations to run; the job releases it when they are done.</param>
    public MigrationJob(string command, MigrationLaunch launch, bool verbose, bool debug)
        : base(command, "VMMigration")
    {
        this.launch = launch;
        log = new JobLog(this, verbose, debug);
        PSJobTypeName = "VMMigrationJob";
    }

    public override string StatusMessage => $"{launch.Requests.Count} migration(s)";
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
            await launch.RunAsync(
                (request, index) => new ProgressReporter(request, index + 1, Progress.Add),
                result =>
                {
                    foreach (var warning in result.Warnings) Warning.Add(new WarningRecord(warning));
                    if (!result.Succeeded)
                    {
                        failed = true;
                        Error.Add(ErrorOf(result));
                    }
                    Output.Add(PSObject.AsPSObject(result));
                }, cancel.Token, log);
            SetJobState(cancel.IsCancellationRequested ? JobState.Stopped : failed ? JobState.Failed : JobState.Completed);
        }
        catch (Exception e)
        {
            Error.Add(new ErrorRecord(e, "MigrationJobFailed", ErrorCategory.OperationStopped, null));
            SetJobState(cancel.IsCancellationRequested ? JobState.Stopped : JobState.Failed);
        }
        finally
        {
            launch.Dispose();
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
