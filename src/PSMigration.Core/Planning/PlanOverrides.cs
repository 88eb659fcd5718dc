using PSMigration.Core.Diagnostics;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Planning;

/// <summary>What an operator asks of one migration over its policy (<c>-Transport</c>, <c>-Connections</c>,
/// <c>-CopyStorage</c>). They replace the policy's values before planning, so every policy rule still applies to them.</summary>
/// <param name="CopyStorage">Copy the VM's local disks this once (storage: copy); false leaves the policy's value.</param>
/// <param name="Postcopy">Allow post-copy this once (postcopy: true), for a switch the operator asks for (-Postcopy,
/// --postcopy-after); false leaves the policy's value. With parallel Auto it turns multifd off, as the policy would.</param>
public sealed record PlanOverrides(MigrationTransport? Transport = null, int? Connections = null, bool CopyStorage = false, bool Postcopy = false)
{
    private static readonly PolicySource Parameter = new("parameter", null);

    public EffectivePolicy Apply(EffectivePolicy policy)
    {
        if (Connections is < 1 or > PolicyKeys.MaxChannels)
            throw new MigrationException("InvalidParameterValue", FailureKind.InvalidInput,
                $"Connections must be 1 to {PolicyKeys.MaxChannels} (1 turns parallel off), not {Connections}", "Connections");
        var sources = new Dictionary<string, PolicySource>(policy.Sources);
        if (Transport is { } transport)
        {
            policy = policy with { Transport = transport };
            sources[PolicyKeys.Transport] = Parameter;
        }
        if (Connections is { } n)
        {
            policy = n == 1
                ? policy with { Parallel = ParallelMode.Disabled, Connections = null }
                : policy with { Parallel = ParallelMode.Custom, Connections = n };
            sources[PolicyKeys.Parallel] = sources[PolicyKeys.Connections] = Parameter;
        }
        if (Postcopy)
        {
            policy = policy with { Postcopy = true };
            sources[PolicyKeys.Postcopy] = Parameter;
        }
        if (CopyStorage)
        {
            policy = policy with { Storage = StorageMode.Copy };
            sources[PolicyKeys.Storage] = Parameter;
        }
        policy = policy with { Sources = new PolicySources(sources) };
        if (PolicyRules.Check(policy).FirstOrDefault(v => v.Severity == ProblemSeverity.Error) is { } broken)
            throw new MigrationException("InvalidParameterValue", FailureKind.InvalidInput,
                $"The requested settings break a policy rule: {broken.Message}", ParameterOf(broken, policy.Sources));
        return policy;
    }

    /// <summary>The parameter that broke the rule: of the rule's keys, the one an override set (the rule points at the key
    /// with a place in the file, which an override's value never has).</summary>
    private static string ParameterOf(PolicyViolation broken, PolicySources sources) =>
        new[] { broken.Key, broken.OtherKey }.FirstOrDefault(k => k is not null && sources[k] == Parameter) switch
        {
            PolicyKeys.Postcopy => "Postcopy",
            PolicyKeys.Storage => "CopyStorage",
            PolicyKeys.Transport => "Transport",
            _ => "Connections",
        };
}
