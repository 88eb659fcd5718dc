using System.Text;
using System.Text.RegularExpressions;
namespace PSMigration.Core.Inventory;

/// <summary>Which names of the inventory a parameter takes.</summary>
public enum InventoryNameKind
{
    Vm,
    Host,
    Network,
    Cluster,
}

/// <summary>One completion: the text to insert (quoted when PowerShell needs it) and the bare name to list.</summary>
public sealed record NameCompletion(string CompletionText, string ListItemText, string ToolTip);

/// <summary>
/// Tab completion of inventory names (quoted by PowerShell's rules), free of PowerShell types so it is
/// tested without a PowerShell runtime: the cmdlets' IArgumentCompleter adapters only turn these into CompletionResults.
/// </summary>
public static class InventoryNameCompletion
{
    /// <summary>The names of one kind in the inventory at <paramref name="inventoryPath"/>
    /// (relative to <paramref name="currentDirectory"/>) that complete <paramref name="wordToComplete"/>;
    /// empty, never an exception, when there is no inventory or it cannot be read: a completer that
    /// throws only breaks the user's Tab.</summary>
    public static IReadOnlyList<NameCompletion> Complete(string? inventoryPath, string currentDirectory, InventoryNameKind kind, string? wordToComplete)
    {
        try
        {
            if (InventoryLoader.FindPath(inventoryPath) is not { } path) return [];
            return Complete(InventoryCache.Load(Resolve(path, currentDirectory), out _), kind, wordToComplete); // each Tab: read only when changed
        }
        catch (Exception)
        {
            return [];
        }
    }

    /// <summary>The pure part: the inventory's names of one kind that complete the word.</summary>
    public static IReadOnlyList<NameCompletion> Complete(MigrationInventory inventory, InventoryNameKind kind, string? wordToComplete)
    {
        var (pattern, quote) = Parse(wordToComplete ?? "");
        return Candidates(inventory, kind)
            .Where(c => pattern.IsMatch(c.Name))
            .DistinctBy(c => c.Name, StringComparer.Ordinal)
            .OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase)
            .Select(c => new NameCompletion(Quote(c.Name, quote), c.Name, c.ToolTip))
            .ToList();
    }

    /// <summary>"~" and relative paths the way the user meant them, not relative to the process's directory.</summary>
    private static string Resolve(string path, string currentDirectory)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
            path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "");
        return Path.GetFullPath(path, currentDirectory);
    }

    private static IEnumerable<(string Name, string ToolTip)> Candidates(MigrationInventory inventory, InventoryNameKind kind) => kind switch
    {
        InventoryNameKind.Vm => inventory.Vms.Select(v => (v.Name, $"{v.Name} on {v.Host} ({v.Vcpus} vCPUs, {v.MemoryMiB} MiB, {v.Backend})")),
        InventoryNameKind.Host => inventory.Hosts.Select(h => (h.Name, h.Cluster is null ? h.Name : $"{h.Name} (cluster {h.Cluster})")),
        InventoryNameKind.Network => inventory.Networks.Select(n => (n.Name, $"{n.Name} {n.Cidr} ({n.RoleName})")),
        InventoryNameKind.Cluster => inventory.Clusters.Select(c => (c.Name, c.Name)),
        _ => [],
    };

    /// <summary>The word as a case-insensitive prefix pattern: its own * and ? are wildcards, and an
    /// opening quote the user typed is dropped here and put back on every completion.</summary>
    private static (Regex Pattern, char? Quote) Parse(string word)
    {
        char? quote = word.Length > 0 && IsQuote(word[0]) ? word[0] : null;
        if (quote is not null)
        {
            word = word[1..];
            if (word.Length > 0 && word[^1] == quote) word = word[..^1];
        }
        var regex = new StringBuilder("^");
        foreach (var c in word)
            regex.Append(c switch { '*' => ".*", '?' => ".", _ => Regex.Escape(c.ToString()) });
        return (new Regex(regex.Append(".*$").ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline), quote);
    }

    private static bool IsQuote(char c) => c is '\'' or '"' or '\u2018' or '\u2019' or '\u201C' or '\u201D';

    /// <summary>A name PowerShell would read as something else as a bare word (spaces, $, quotes, a
    /// leading -, ...) is quoted; so is every name when the user started with a quote.</summary>
    public static string Quote(string name, char? quote = null)
    {
        if (quote is null && BareWord.IsMatch(name)) return name;
        if (quote is '"' or '\u201C' or '\u201D')
            return "\"" + Regex.Replace(name, "[`$\"\u201C\u201D\u201E]", m => "`" + m.Value) + "\"";
        return "'" + Regex.Replace(name, "['\u2018\u2019\u201A\u201B]", m => m.Value + m.Value) + "'";
    }

    private static readonly Regex BareWord = new(@"^[\w.:/\\+][\w.:/\\+-]*$", RegexOptions.CultureInvariant);
}
