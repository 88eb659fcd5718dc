namespace PSMigration.Core.Policies;

public enum PolicyScope { Cluster, VM }

/// <summary>The cluster or VM whose <c>migration:</c> block a command reads or edits.</summary>
public sealed record PolicyTarget(PolicyScope Scope, string Name)
{
    public static PolicyTarget ForCluster(string name) => new(PolicyScope.Cluster, name);
    public static PolicyTarget ForVm(string name) => new(PolicyScope.VM, name);
    public override string ToString() => Scope == PolicyScope.Cluster ? $"cluster '{Name}'" : $"VM '{Name}'";
}

/// <summary>What to change in a policy block: keys with a value in <see cref="Set"/> are written,
/// keys in <see cref="Clear"/> are removed (so they inherit again); everything else stays.</summary>
public sealed record PolicyChange(PolicyBlock Set, IReadOnlyList<string> Clear)
{
    public IEnumerable<string> KeysToSet => PolicyKeys.All.Where(k => PolicyKeys.YamlValue(Set, k) is not null);
    public bool IsEmpty => !KeysToSet.Any() && Clear.Count == 0;
}
