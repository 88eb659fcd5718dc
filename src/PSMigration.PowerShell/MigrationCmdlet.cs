using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Management.Automation;
using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.PowerShell;

/// <summary>What every cmdlet of the module shares: finding the inventory (loaded once per file and
/// session, see <see cref="InventoryCache"/>), a log for -Verbose and -Debug, running async work on the
/// pipeline thread's terms, and turning the services' failures into ErrorRecords with ids and categories.</summary>
public abstract class MigrationCmdlet : PSCmdlet
{
    private readonly Dictionary<string, MigrationInventory> loaded = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    /// <summary>Writes posted from other threads while <see cref="RunOnPipeline{T}"/> runs; null otherwise.</summary>
    private BlockingCollection<Action>? posted;
    private int pipelineThread;
    private CmdletLog? log;

    /// <summary>-InventoryPath's short name (the completers read it too).</summary>
    internal const string InventoryAlias = "Inventory";

    /// <summary>The inventory YAML; defaults to $env:PSMIGRATION_INVENTORY.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias(InventoryAlias)]
    [ValidateNotNullOrEmpty]
    public string? InventoryPath { get; set; }

    /// <summary>-Verbose tells the story, -Debug the protocols; from any thread.</summary>
    protected IActivityLog Log => Logger;

    /// <summary>Whether -Verbose (or $VerbosePreference) asks for the story: a background job records it only then.</summary>
    protected bool VerboseWanted => Logger.VerboseEnabled;

    /// <summary>Whether -WhatIf (or $WhatIfPreference) is in effect: ShouldProcess will only describe.</summary>
    protected bool WhatIfWanted => MyInvocation.BoundParameters.TryGetValue("WhatIf", out var given)
        ? given is SwitchParameter { IsPresent: true } or true
        : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));

    private CmdletLog Logger => log ??= new CmdletLog(this, Wants("Verbose", "VerbosePreference"), Wants("Debug", "DebugPreference"));

    protected override void BeginProcessing() => pipelineThread = Environment.CurrentManagedThreadId;

    /// <summary>The inventory named by <see cref="InventoryPath"/>, relative to the current location: one
    /// copy per pipeline, reused from earlier commands while the file is unchanged. Its warnings are written once.</summary>
    protected MigrationInventory Inventory()
    {
        var path = ResolvedInventoryPath();
        if (loaded.TryGetValue(path, out var inventory)) return inventory;
        var clock = Stopwatch.StartNew();
        inventory = InventoryCache.Load(path, out var reused);
        Log.Verbose(reused
            ? $"Inventory {path}: unchanged since it was loaded, reused ({inventory.Hosts.Count} hosts, {inventory.Vms.Count} VMs)"
            : $"Inventory {path}: loaded in {clock.ElapsedMilliseconds} ms ({inventory.Hosts.Count} hosts, {inventory.Vms.Count} VMs, {inventory.Networks.Count} networks)");
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
    /// this thread, so the work posts what it has to write (progress, objects, errors, log lines) and this
    /// thread runs it as it comes. Ctrl+C (StopProcessing) cancels the work; it is still awaited, so what it
    /// started is undone before the cmdlet returns, and then <paramref name="stopped"/> gets its outcome to
    /// tell the user (the pipeline takes no more objects by then) before the pipeline stops.
    /// </summary>
    protected T RunOnPipeline<T>(Func<Action<Action>, CancellationToken, Task<T>> work, Action<T>? stopped = null)
    {
        using var writes = new BlockingCollection<Action>();
        posted = writes;
        try
        {
            var task = Task.Run(() => work(writes.Add, Cancellation));
            while (!task.IsCompleted || writes.Count > 0)
            {
                if (!writes.TryTake(out var write, 100) || Cancellation.IsCancellationRequested) continue;
                try
                {
                    write();
                }
                catch (PipelineStoppedException)
                {
                    // Ctrl+C between the check and the write: the loop lets the work finish undoing what it started
                }
            }
            var outcome = task.GetAwaiter().GetResult();
            if (!Cancellation.IsCancellationRequested) return outcome;
            stopped?.Invoke(outcome);
            throw new PipelineStoppedException();
        }
        finally
        {
            posted = null;
        }
    }

    /// <summary>Writes now on the pipeline thread, or hands the write to it while <see cref="RunOnPipeline{T}"/> runs.</summary>
    private void OnPipeline(Action write)
    {
        if (Environment.CurrentManagedThreadId == pipelineThread)
        {
            write();
            return;
        }
        try
        {
            posted?.Add(write);
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            // a late line from a background thread after the command ended: nobody is there to read it
        }
    }

    /// <summary>Tells the user something once the pipeline is stopping (it takes no more objects or
    /// records): a line on the host in the error colour, and <paramref name="record"/>, if any, in $Error,
    /// where scripts look for what went wrong. A host without a user interface gets the record only.</summary>
    protected void TellAfterStop(string line, ErrorRecord? record)
    {
        Host?.UI?.WriteErrorLine($"{MyInvocation.MyCommand.Name}: {line}");
        if (record is not null && SessionState.PSVariable.GetValue("global:Error") is ArrayList errors) errors.Insert(0, record);
    }

    /// <summary>Whether -Verbose or -Debug (or its preference variable) asks for these lines.</summary>
    private bool Wants(string parameter, string preference)
    {
        if (MyInvocation.BoundParameters.TryGetValue(parameter, out var given))
            return given is SwitchParameter { IsPresent: true } or true;
        var value = GetVariableValue(preference);
        return (value is ActionPreference p ? p : Enum.TryParse<ActionPreference>($"{value}", true, out var parsed) ? parsed : ActionPreference.SilentlyContinue)
            is not (ActionPreference.SilentlyContinue or ActionPreference.Ignore);
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

    /// <summary>The cmdlet's -Verbose and -Debug streams as an <see cref="IActivityLog"/> for the services.</summary>
    private sealed class CmdletLog(MigrationCmdlet cmdlet, bool verbose, bool debug) : IActivityLog
    {
        public bool VerboseEnabled => verbose;
        public bool DebugEnabled => debug;

        public void Verbose(string message)
        {
            if (verbose) cmdlet.OnPipeline(() => cmdlet.WriteVerbose(message));
        }

        public void Debug(string message)
        {
            if (debug) cmdlet.OnPipeline(() => cmdlet.WriteDebug(message));
        }
    }
}
