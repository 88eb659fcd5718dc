using System.Management.Automation;

namespace PSMigration.PowerShell;

/// <summary>Wildcard name filtering the way Get-Process does it: a pattern that matches nothing is
/// fine, a plain name that matches nothing is an ObjectNotFound error.</summary>
internal static class NameFilter
{
    public static bool Matches(string name, IEnumerable<string> patterns) =>
        patterns.Any(p => new WildcardPattern(p, WildcardOptions.IgnoreCase).IsMatch(name));

    public static void Write<T>(Cmdlet cmdlet, IEnumerable<T> items, Func<T, string> name, string[] patterns, string kind, string errorId)
    {
        var list = items.ToList();
        foreach (var item in list.Where(i => Matches(name(i), patterns))) cmdlet.WriteObject(item);
        foreach (var plain in patterns.Where(p => !WildcardPattern.ContainsWildcardCharacters(p)))
        {
            if (list.Any(i => string.Equals(name(i), plain, StringComparison.OrdinalIgnoreCase))) continue;
            cmdlet.WriteError(new ErrorRecord(new ItemNotFoundException($"There is no {kind} '{plain}' in the inventory."),
                errorId, ErrorCategory.ObjectNotFound, plain));
        }
    }
}
