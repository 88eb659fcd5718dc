using System.Management.Automation;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.PowerShell;

/// <summary>
/// Inventory names as the cmdlets take them: in any case, and with PowerShell's wildcards (<c>web*</c>,
/// <c>kvm0[12]</c>) where several objects make sense. Each name or pattern that matches nothing is an
/// ObjectNotFound error naming it (a plain name with a did-you-mean); the others go on.
/// </summary>
internal static class InventoryNames
{
    /// <summary>The names of <paramref name="kind"/> that <paramref name="patterns"/> match, as the inventory
    /// spells them, in inventory order, each once.</summary>
    /// <param name="reportUnmatched">False for a default pattern the user did not give (Get-MigrationVM's
    /// "*" on an inventory without VMs is no error).</param>
    public static IReadOnlyList<string> Resolve(Cmdlet cmdlet, MigrationInventory inventory, InventoryNameKind kind,
        IEnumerable<string> patterns, bool reportUnmatched = true)
    {
        var matched = new HashSet<string>(MigrationInventory.NameComparer);
        foreach (var pattern in patterns)
        {
            try
            {
                if (!WildcardPattern.ContainsWildcardCharacters(pattern))
                {
                    matched.Add(inventory.NameOf(kind, pattern));
                    continue;
                }
                var hits = inventory.NamesOf(kind).Where(n => Matches(n, [pattern])).ToList();
                if (hits.Count == 0) throw inventory.NothingMatches(kind, pattern);
                matched.UnionWith(hits);
            }
            catch (MigrationException e) when (e.Kind == FailureKind.NotFound)
            {
                if (reportUnmatched) cmdlet.WriteError(MigrationCmdlet.ToErrorRecord(e, pattern));
            }
        }
        return inventory.NamesOf(kind).Where(matched.Contains).ToList();
    }

    /// <summary>Whether <paramref name="name"/> is one of <paramref name="patterns"/> (any case, wildcards).</summary>
    public static bool Matches(string name, IEnumerable<string> patterns) =>
        patterns.Any(p => new WildcardPattern(p, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant).IsMatch(name));
}
