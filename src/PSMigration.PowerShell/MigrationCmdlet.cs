using System.Management.Automation;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.PowerShell;

/// <summary>What every cmdlet of the module shares: finding and loading the inventory once per
/// pipeline, and turning the services' failures into ErrorRecords with ids and categories.</summary>
public abstract class MigrationCmdlet : PSCmdlet
{
    private readonly Dictionary<string, MigrationInventory> loaded = new(StringComparer.Ordinal);

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
