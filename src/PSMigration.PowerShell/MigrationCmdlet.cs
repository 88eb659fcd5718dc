using System.Management.Automation;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.PowerShell;

/// <summary>What every cmdlet of the module shares: finding and loading the inventory once per
/// pipeline, and turning the services' failures into ErrorRecords with ids and categories.</summary>
public abstract class MigrationCmdlet : PSCmdlet
{
    private readonly Dictionary<string, MigrationInventory> loaded = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();

    /// <summary>The inventory YAML; defaults to $env:PSMIGRATION_INVENTORY.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Inventory")]
    [ValidateNotNullOrEmpty]
    public string? InventoryPath { get; set; }

    /// <summary>The inventory named by <see cref="InventoryPath"/>, relative to the current location,
    /// loaded once however many objects come down the pipeline. Its warnings are written once.</summary>
    protected MigrationInventory Inventory()
    {
        var path = ResolvedInventoryPath();
        if (loaded.TryGetValue(path, out var inventory)) return inventory;
        inventory = InventoryLoader.Load(path);
        foreach (var warning in inventory.Warnings) WriteWarning(warning.ToString());
        loaded[path] = inventory;
        return inventory;
    }

    protected string ResolvedInventoryPath() =>
        GetUnresolvedProviderPathFromPSPath(InventoryLoader.ResolvePath(InventoryPath, "-InventoryPath"));

    /// <summary>Runs one unit of work; a failure becomes a non-terminating error about
    /// <paramref name="target"/>, so the rest of the pipeline goes on.</summary>
    protected void Try(object? target, Action work)
    {
        try
        {
            work();
        }
        catch (MigrationException e)
        {
            WriteError(ToErrorRecord(e, target));
        }
    }

    /// <summary>Cancelled by Ctrl+C or Stop-Job (StopProcessing).</summary>
    protected CancellationToken Cancellation => stopping.Token;

    protected override void StopProcessing() => stopping.Cancel();

    /// <summary>
    /// Runs async work to its end on the pipeline thread's terms: progress lines become Write-Progress
    /// records here (PowerShell allows writing only from this thread), and Ctrl+C cancels the work.
    /// </summary>
    protected T RunWithProgress<T>(string activity, Func<IProgress<string>, CancellationToken, Task<T>> work)
    {
        using var updates = new System.Collections.Concurrent.BlockingCollection<string>();
        var task = Task.Run(() => work(new Reporter(updates), Cancellation));
        var record = new ProgressRecord(0, activity, "starting"); // one activity per cmdlet: id 0
        while (!task.IsCompleted)
        {
            if (updates.TryTake(out var status, 100))
            {
                record.StatusDescription = status;
                WriteProgress(record);
            }
        }
        record.RecordType = ProgressRecordType.Completed;
        WriteProgress(record);
        return task.GetAwaiter().GetResult();
    }

    private sealed class Reporter(System.Collections.Concurrent.BlockingCollection<string> updates) : IProgress<string>
    {
        public void Report(string value) => updates.Add(value);
    }

    public static ErrorRecord ToErrorRecord(MigrationException e, object? target) =>
        new(e, e.ErrorId, Category(e), target ?? e.Target);

    private static ErrorCategory Category(MigrationException e) => e switch
    {
        InventoryException => ErrorCategory.InvalidData,
        { Kind: FailureKind.NotFound } => ErrorCategory.ObjectNotFound,
        { Kind: FailureKind.InvalidInput } => ErrorCategory.InvalidArgument,
        _ => ErrorCategory.InvalidOperation,
    };
}
