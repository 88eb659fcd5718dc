using PSMigration.Core.Diagnostics;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Inventory;

/// <summary>
/// Changes one cluster's or VM's policy block in an inventory file. Only that block's lines
/// change; the new text must load as a valid inventory (every rule, for every VM the change
/// reaches) before anything is written, and the write is atomic.
/// </summary>
public static class PolicyEditor
{
    /// <param name="write">False: only say what would change (-WhatIf); the file is read, not locked.</param>
    public static PolicyEditResult Apply(string path, PolicyTarget target, PolicyChange change, bool write) => write
        ? InventoryFile.Edit(path, file => Compute(file, target, change, write: true))
        : Compute(InventoryFile.Read(path), target, change, write: false).Result;

    /// <summary>The edit on the file as it is now: the new text when it is to be written (else null) and the result.</summary>
    private static (string? NewText, PolicyEditResult Result) Compute(InventoryFile file, PolicyTarget target, PolicyChange change, bool write)
    {
        var before = InventoryLoader.Parse(file.Text, file.Path);
        var oldPolicy = PolicyOf(before, target); // also: an unknown name fails here, with a did-you-mean
        target = target with { Name = oldPolicy.Name }; // as the inventory spells it
        change = SpeltAsDefined(before, change);

        var newText = Edit(file.Text, target, change);
        MigrationInventory after;
        try
        {
            after = InventoryLoader.Parse(newText, file.Path);
        }
        catch (InventoryException e)
        {
            var why = e.Problems.Where(p => p.Severity == ProblemSeverity.Error).Select(p => "  " + p.Message);
            throw new MigrationException("PolicyRejected", FailureKind.InvalidInput,
                $"The change to the policy of {target} was rejected; {file.Path} is unchanged:{Environment.NewLine}" +
                string.Join(Environment.NewLine, why), target.Name, e);
        }

        var newPolicy = PolicyOf(after, target);
        var changes = newText == file.Text
            ? new List<string>()
            : PolicyKeys.All.Select(k => (Key: k, Old: Shown(oldPolicy, k), New: Shown(newPolicy, k)))
                .Where(c => c.Old != c.New)
                .Select(c => $"{c.Key}: {c.Old} -> {c.New}")
                .ToList();
        var known = before.Warnings.Select(w => w.Message).ToHashSet();
        var warnings = after.Warnings.Select(w => w.Message).Where(m => !known.Contains(m)).ToList();

        var written = write && newText != file.Text;
        return (written ? newText : null, new PolicyEditResult(target, file.Path, written, changes, LineDiff.Between(file.Text, newText), warnings, newPolicy));
    }

    /// <summary>The change with each network it names spelt as the inventory defines it ("MIG" -> "mig"), as references
    /// are stored; an unknown name stays as given, for the reader to refuse with its place and a did-you-mean.</summary>
    private static PolicyChange SpeltAsDefined(MigrationInventory inventory, PolicyChange change) =>
        change.Set.Networks is not { } names ? change : change with
        {
            Set = change.Set with
            {
                Networks = names.Select(n => inventory.Networks.FirstOrDefault(d => MigrationInventory.NameComparer.Equals(d.Name, n))?.Name ?? n).ToList(),
            },
        };

    public static EffectivePolicy PolicyOf(MigrationInventory inventory, PolicyTarget target) =>
        target.Scope == PolicyScope.Cluster ? inventory.ClusterPolicy(inventory.Cluster(target.Name).Name) : inventory.VmPolicy(target.Name);

    /// <summary>"Auto (cluster 'prod')": the value and where it comes from, so inheriting shows too.</summary>
    private static string Shown(EffectivePolicy policy, string key) =>
        $"{PolicyKeys.YamlValue(policy.Values, key) ?? "(none)"} ({policy.Sources[key]})";

    /// <summary>The inventory text with the target's block changed, and nothing else.</summary>
    private static string Edit(string text, PolicyTarget target, PolicyChange change)
    {
        var owner = InventoryItems.Find((YamlMap)YamlTree.Parse(text)[0], target.Scope == PolicyScope.Cluster ? "clusters" : "vms", target.Name);
        var set = change.KeysToSet.Select(k => (k, PolicyKeys.YamlValue(change.Set, k)!)).ToList();
        var editor = new YamlTextEditor(text);
        try
        {
            switch (owner.Entry("migration")?.Value)
            {
                case null:
                    if (set.Count > 0) editor.AddMapping(owner, "migration", set);
                    break;
                case YamlScalar empty: // "migration:" with no value
                    if (set.Count > 0) editor.ReplaceNullWithMapping(empty, set);
                    break;
                case YamlMap block:
                    var kept = block.Entries.Select(e => e.Key.Value)
                        .Where(k => !change.Clear.Contains(k)).Union(set.Select(s => s.Item1));
                    if (kept.Any()) editor.EditMapping(block, set, change.Clear);
                    else editor.RemoveEntry(owner, "migration"); // an empty block says nothing: drop it
                    break;
                default:
                    throw new NotSupportedException("it is not a mapping");
            }
            return editor.Apply();
        }
        catch (NotSupportedException e)
        {
            throw new MigrationException("PolicyNotEditable", FailureKind.InvalidInput,
                $"The migration policy of {target} is laid out in a way the editor does not change in place ({e.Message}); edit it by hand",
                target.Name, e);
        }
    }
}

/// <summary>The lines an edit removed and added, for -WhatIf and the CLI: "-  12: old", "+  12: new".</summary>
internal static class LineDiff
{
    public static IReadOnlyList<string> Between(string before, string after)
    {
        var a = before.Split('\n');
        var b = after.Split('\n');
        // Edits touch one block, so trim the common head and tail and compare the rest line by line.
        var head = 0;
        while (head < a.Length && head < b.Length && a[head] == b[head]) head++;
        var tail = 0;
        while (tail < a.Length - head && tail < b.Length - head && a[^(tail + 1)] == b[^(tail + 1)]) tail++;
        var oldLines = a[head..(a.Length - tail)];
        var newLines = b[head..(b.Length - tail)];

        // Longest common subsequence of the middle, then walk it.
        var lcs = new int[oldLines.Length + 1, newLines.Length + 1];
        for (var i = oldLines.Length - 1; i >= 0; i--)
        for (var j = newLines.Length - 1; j >= 0; j--)
            lcs[i, j] = oldLines[i] == newLines[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);

        var diff = new List<string>();
        int x = 0, y = 0;
        while (x < oldLines.Length || y < newLines.Length)
        {
            if (x < oldLines.Length && y < newLines.Length && oldLines[x] == newLines[y]) { x++; y++; }
            else if (x < oldLines.Length && (y == newLines.Length || lcs[x + 1, y] >= lcs[x, y + 1]))
                diff.Add(Line('-', head + x + 1, oldLines[x++]));
            else diff.Add(Line('+', head + y + 1, newLines[y++]));
        }
        return diff;
    }

    private static string Line(char sign, int number, string text) => $"{sign}{number,5}: {text.TrimEnd('\r')}";
}
