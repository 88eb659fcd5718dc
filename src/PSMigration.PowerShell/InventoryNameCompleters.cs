using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using PSMigration.Core.Inventory;

namespace PSMigration.PowerShell;

/// <summary>
/// The IArgumentCompleter side of <see cref="InventoryNameCompletion"/>: finds the inventory the
/// command line names (its -InventoryPath, else $env:PSMIGRATION_INVENTORY) and the current location,
/// and turns the names into CompletionResults.
/// </summary>
public abstract class InventoryNameCompleter(InventoryNameKind kind) : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            return InventoryNameCompletion.Complete(InventoryPathOf(fakeBoundParameters), CurrentDirectory(), kind, wordToComplete)
                .Select(c => new CompletionResult(c.CompletionText, c.ListItemText, CompletionResultType.ParameterValue, c.ToolTip))
                .ToList();
        }
        catch (Exception)
        {
            return []; // completion must never break the user's Tab
        }
    }

    /// <summary>-InventoryPath as typed so far (or by its alias); only a literal string counts, since
    /// completion does not run the command line's expressions.</summary>
    private static string? InventoryPathOf(IDictionary? fakeBoundParameters)
    {
        if (fakeBoundParameters is null) return null;
        foreach (var key in new[] { nameof(MigrationCmdlet.InventoryPath), MigrationCmdlet.InventoryAlias })
            if (fakeBoundParameters.Contains(key) && PSObjectBase(fakeBoundParameters[key]) is string { Length: > 0 } path) return path;
        return null;
    }

    private static object? PSObjectBase(object? value) => value is PSObject o ? o.BaseObject : value;

    /// <summary>PowerShell's current file-system location, which Set-Location changes without changing
    /// the process's directory; the process's one when there is no runspace to ask.</summary>
    private static string CurrentDirectory()
    {
        try
        {
            if (Runspace.DefaultRunspace?.SessionStateProxy?.Path?.CurrentFileSystemLocation?.ProviderPath is { Length: > 0 } location)
                return location;
        }
        catch (Exception)
        {
            // no usable runspace on this thread
        }
        return Environment.CurrentDirectory;
    }
}

public sealed class VmNameCompleter() : InventoryNameCompleter(InventoryNameKind.Vm);

public sealed class HostNameCompleter() : InventoryNameCompleter(InventoryNameKind.Host);

public sealed class NetworkNameCompleter() : InventoryNameCompleter(InventoryNameKind.Network);

public sealed class ClusterNameCompleter() : InventoryNameCompleter(InventoryNameKind.Cluster);
