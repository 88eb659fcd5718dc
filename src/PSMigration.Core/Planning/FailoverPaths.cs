using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Planning;

/// <summary>The networks that take over, in order, and the sentences that say so (reasons) or warn (a closed network listed).</summary>
internal sealed record FailoverDecision(TextList<NetworkPath> Paths, IReadOnlyList<string> Reasons, IReadOnlyList<string> Warnings);

/// <summary>
/// Which networks take over, in order, when a connection on the network that carries a migration fails (DESIGN.md
/// "Resilient and striped channels"); the carrier is never one of them. With the policy's <c>networks</c>: the others it
/// lists that both hosts share, in its order (one closed to migrations with the selector's warning, one not shared skipped
/// with the reason). Without it: every other shared network open to migrations, in the selector's order of preference, so
/// storage and cluster networks closed to migrations are never used silently. Only the engine moves a connection to
/// another network: with the direct transport (QEMU's own connections), or for a libvirt domain, there are none.
/// </summary>
internal static class FailoverPaths
{
    public static FailoverDecision Decide(NetworkChoice choice, EffectivePolicy policy, VirtualMachine vm)
    {
        if (policy.Transport != MigrationTransport.Engine)
            return None($"Transport {Spelling.Of(policy.Transport)} (from {policy.Sources[PolicyKeys.Transport]}): " +
                        "QEMU's own connections cannot move to another network: no failover.");
        if (vm.Libvirt is not null)
            return None($"{vm.Name} is a libvirt domain: libvirt opens its migration's connections itself, and they cannot move " +
                        "to another network: no failover.");
        return policy.Networks is { } listed
            ? Listed(choice, listed, policy.Sources[PolicyKeys.Networks])
            : Open(choice);
    }

    /// <summary>The other networks of the policy's list, in its order; those the two hosts do not share are skipped, saying why.</summary>
    private static FailoverDecision Listed(NetworkChoice choice, IReadOnlyList<string> listed, PolicySource from)
    {
        var paths = new List<NetworkPath>();
        var reasons = new List<string>();
        var warnings = new List<string>();
        var others = listed.Where(name => name != choice.Network.Name).ToList();
        foreach (var name in others)
        {
            if (choice.Shared.FirstOrDefault(s => s.Network.Name == name) is not { } shared)
            {
                reasons.Add($"'{name}' of {PolicyKeys.Networks} (from {from}) is skipped for failover: " +
                            $"{choice.Rejected.First(r => r.Network == name).Reason}.");
                continue;
            }
            paths.Add(NetworkPath.Of(shared));
            if (NetworkSelector.ClosedWarning(shared.Network) is { } closed) warnings.Add(closed);
        }
        reasons.Add(paths.Count > 0
            ? $"{CarriesOn(choice, paths)}, in the order of {PolicyKeys.Networks} (from {from})."
            : others.Count == 0
                ? $"{IfBroken(choice)}, {PolicyKeys.Networks} (from {from}) names no other network: no failover."
                : $"{IfBroken(choice)}, no other network of {PolicyKeys.Networks} (from {from}) is shared by " +
                  $"{choice.Source.Host.Name} and {choice.Destination.Host.Name}: no failover.");
        return new FailoverDecision(paths, reasons, warnings);
    }

    /// <summary>No list: every other shared network open to migrations, best first as the selector ranks them.</summary>
    private static FailoverDecision Open(NetworkChoice choice)
    {
        var paths = choice.Preferred.Where(s => s.Network != choice.Network).Select(NetworkPath.Of).ToList();
        return new FailoverDecision(paths,
            [paths.Count > 0 ? $"{CarriesOn(choice, paths)}." : $"{IfBroken(choice)}, no other shared network is open to migrations: no failover."],
            []);
    }

    private static FailoverDecision None(string reason) => new([], [reason], []);

    /// <summary>"If a connection on 'mig' fails, the engine carries on over 'lan', then 'iscsi-a'".</summary>
    private static string CarriesOn(NetworkChoice choice, IReadOnlyList<NetworkPath> paths) =>
        $"{IfBroken(choice)}, the engine carries on over {string.Join(", then ", paths.Select(p => $"'{p.Network}'"))}";

    private static string IfBroken(NetworkChoice choice) => $"If a connection on '{choice.Network.Name}' fails";
}
