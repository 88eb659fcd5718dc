using System.Management.Automation;
using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Migration;

namespace PSMigration.PowerShell;

/// <summary>Start-VMMigration -AsJob: the migrations run in the background; Receive-Job gives their
/// results (and errors), Stop-Job cancels them, leaving each VM running where it was.</summary>
internal sealed class MigrationJob : Job
{
    private readonly IReadOnlyList<MigrationRequest> requests;
    private readonly IDisposable credentials;
    private readonly CancellationTokenSource cancel = new();

    public MigrationJob(string command, IReadOnlyList<MigrationRequest> requests, IDisposable credentials)
        : base(command, "VMMigration")
    {
        this.requests = requests;
        this.credentials = credentials;
        PSJobTypeName = "VMMigrationJob";
    }

    public override string StatusMessage => $"{requests.Count} migration(s)";
    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Progress.Count > 0 || Warning.Count > 0;
    public override string Location => Environment.MachineName;

    public void Start()
    {
        SetJobState(JobState.Running);
        _ = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var failed = false;
        try
        {
            await MigrationBatch.RunAsync(requests,
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
                }, cancel.Token);
            SetJobState(cancel.IsCancellationRequested ? JobState.Stopped : failed ? JobState.Failed : JobState.Completed);
        }
        catch (Exception e)
        {
            Error.Add(new ErrorRecord(e, "MigrationJobFailed", ErrorCategory.OperationStopped, null));
            SetJobState(cancel.IsCancellationRequested ? JobState.Stopped : JobState.Failed);
        }
        finally
        {
            credentials.Dispose();
        }
    }

    public override void StopJob() => cancel.Cancel();

    /// <summary>A failed or cancelled migration as an ErrorRecord: its error id, a category, and the result as the target.</summary>
    public static ErrorRecord ErrorOf(MigrationResult result)
    {
        var kind = result.Status == MigrationStatusNames.Cancelled ? ErrorCategory.OperationStopped : ErrorCategory.InvalidOperation;
        var error = new MigrationException(result.ErrorId ?? "MigrationFailed", FailureKind.OperationFailed, result.Error ?? result.Status, result.Vm);
        return new ErrorRecord(error, error.ErrorId, kind, result);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) cancel.Dispose();
        base.Dispose(disposing);
    }
}
