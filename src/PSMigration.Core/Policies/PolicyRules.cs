using PSMigration.Core.Diagnostics;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Policies;

/// <summary>A rule broken by an effective policy, pointed at the value that broke it (<see cref="Key"/>); a rule about two
/// keys names the other in <see cref="OtherKey"/>.</summary>
internal sealed record PolicyViolation(ProblemSeverity Severity, string Key, SourceLocation? Location, string Message, string? OtherKey = null);

/// <summary>The combinations a policy may not hold. Ranges of single values (connections 2..255 and
/// so on) are checked where values are read; these are the rules about pairs of values.</summary>
internal static class PolicyRules
{
    public static IReadOnlyList<PolicyViolation> Check(EffectivePolicy policy)
    {
        var found = new List<PolicyViolation>();
        var mode = Spelling<ParallelMode>.Of(policy.Parallel);
        var forcesParallel = policy.Parallel is ParallelMode.Parallel or ParallelMode.Custom;

        if (policy.Parallel == ParallelMode.Custom && policy.Connections is null && !policy.RefusedKeys.Contains(PolicyKeys.Connections))
            found.Add(Error(policy, PolicyKeys.Parallel,
                $"parallel: Custom needs 'connections' (2 to {PolicyKeys.MaxChannels})"));

        if (policy.Postcopy && forcesParallel)
            found.Add(Error(policy, PolicyKeys.Postcopy, PolicyKeys.Parallel,
                $"postcopy: true cannot be combined with parallel: {mode} (QEMU does not run postcopy over multifd); " +
                "use parallel: Auto, which turns parallel off for postcopy, or Disabled"));

        if (policy.TimeoutAction == TimeoutAction.Postcopy && !policy.Postcopy && !policy.RefusedKeys.Contains(PolicyKeys.Postcopy))
            found.Add(Error(policy, PolicyKeys.TimeoutAction, PolicyKeys.Postcopy,
                "timeoutAction: postcopy needs postcopy: true (QEMU switches only a migration that was started with post-copy allowed); " +
                "set postcopy: true, or use timeoutAction: pause or cancel"));

        if (policy.Compression == CompressionMethod.Xbzrle && forcesParallel)
            found.Add(Error(policy, PolicyKeys.Compression, PolicyKeys.Parallel,
                $"compression: xbzrle works without parallel only, but parallel is {mode}; " +
                "use zlib or zstd with parallel, or parallel: Auto, which turns parallel off for xbzrle"));

        // Only where connections is written: a VM that turns parallel off need not hear about its cluster's count.
        if (policy.Connections is { } n && policy.Parallel != ParallelMode.Custom
            && policy.Sources[PolicyKeys.Connections].Description == Subject(policy))
            found.Add(new PolicyViolation(ProblemSeverity.Warning, PolicyKeys.Connections,
                policy.Sources[PolicyKeys.Connections].Location,
                $"{Subject(policy)}: connections: {n} is ignored because parallel is {mode} (it applies to Custom only)"));

        return found;
    }

    private static PolicyViolation Error(EffectivePolicy policy, string key, string message) =>
        new(ProblemSeverity.Error, key, policy.Sources[key].Location, $"{Subject(policy)}: {message}");

    /// <summary>A rule about two keys: point at the one set closest to the VM, and name where the other came from.</summary>
    private static PolicyViolation Error(EffectivePolicy policy, string key, string otherKey, string message)
    {
        var source = policy.Sources[key];
        var other = policy.Sources[otherKey];
        var pointAt = source.Location is null || (other.Location is not null && other.Description.StartsWith("VM", StringComparison.Ordinal)) ? otherKey : key;
        return new PolicyViolation(ProblemSeverity.Error, pointAt, policy.Sources[pointAt].Location,
            $"{Subject(policy)}: {message} ({key} from {source}, {otherKey} from {other})", pointAt == key ? otherKey : key);
    }

    private static string Subject(EffectivePolicy policy) =>
        policy.Scope == "VM" ? $"VM '{policy.Name}'" : $"cluster '{policy.Name}'";
}
