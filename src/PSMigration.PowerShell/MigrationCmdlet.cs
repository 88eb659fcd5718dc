using System.Management.Automation;
using PSMigration.Core;
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
        GetUnresolvedProviderPathFromPSPath(InventoryLoader.ResolvePath(InventoryPath, InventoryArgument.Cmdlet));

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

    /// <summary>Runs async work with one progress activity whose status lines become Write-Progress records.</summary>
    protected T RunWithProgress<T>(string activity, Func<IProgress<string>, CancellationToken, Task<T>> work)
    {
        var record = new ProgressRecord(0, activity, "starting"); // one activity per cmdlet: id 0
        var result = RunOnPipeline((post, cancel) => work(new InlineProgress<string>(status => post(() =>
        {
            record.StatusDescription = status;
            WriteProgress(record);
        })), cancel));
        record.RecordType = ProgressRecordType.Completed;
        WriteProgress(record);
        return result;
    }

    /// <summary>
    /// Runs async work to its end on the pipeline thread's terms: PowerShell allows Write-* only from
    /// this thread, so the work posts what it has to write (progress, objects, errors) and this
    /// thread runs it as it comes. Ctrl+C (StopProcessing) cancels the work.
    /// </summary>
    protected T RunOnPipeline<T>(Func<Action<Action>, CancellationToken, Task<T>> work)
    {
        using var writes = new System.Collections.Concurrent.BlockingCollection<Action>();
        var task = Task.Run(() => work(writes.Add, Cancellation));
        var stopped = false;
        while (!task.IsCompleted || writes.Count > 0)
        {
            if (!writes.TryTake(out var write, 100) || stopped) continue;
            try
            {
                write();
            }
            catch (PipelineStoppedException)
            {
                stopped = true; // Ctrl+C: let the work finish undoing what it started before this cmdlet returns
            }
        }
        if (stopped) throw new PipelineStoppedException();
        return task.GetAwaiter().GetResult();
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
