using PSMigration.Core.Policies;

namespace PSMigration.Core.Planning;

/// <summary>A network the selector must use rather than choose: asked for by name (-Network, --network), or the first
/// of the policy's <c>networks</c> (<see cref="ListedIn"/> says where that is set).</summary>
internal sealed record NetworkRequest(string Name, PolicySource? ListedIn)
{
    /// <summary>The one rule: a network asked for by name wins; else the first the policy lists; else none (the selector chooses).</summary>
    public static NetworkRequest? For(string? byName, EffectivePolicy policy) =>
        byName is not null ? new NetworkRequest(byName, null)
        : policy.Networks is [var first, ..] ? new NetworkRequest(first, policy.Sources[PolicyKeys.Networks])
        : null;

    /// <summary>Why it carries the migration: "requested by name", "the first of networks (from cluster 'prod')".</summary>
    public string Why => ListedIn is null ? "requested by name" : $"the first of {PolicyKeys.Networks} (from {ListedIn})";

    /// <summary>How an error names it: "Network 'mig'", or "Network 'mig', the first of networks (from cluster 'prod' at inv.yaml:12:18),".</summary>
    public string Subject => ListedIn is null
        ? $"Network '{Name}'"
        : $"Network '{Name}', the first of {PolicyKeys.Networks} (from {ListedIn}{(ListedIn.Location is { } at ? $" at {at}" : "")}),";
}
