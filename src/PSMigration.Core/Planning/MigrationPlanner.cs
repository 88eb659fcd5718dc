using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Planning;

/// <summary>Plans one VM's migration: network (<see cref="NetworkSelector"/>, told which by <see cref="NetworkRequest"/>) and
/// the networks that take over (<see cref="FailoverPaths"/>) or share (<see cref="StripePlan"/>), the policy's bandwidth cap,
/// then connections (<see cref="ConnectionPlanner"/>, over the striped networks' summed bandwidth); transport, encryption and storage are the policy's.</summary>
public static class MigrationPlanner
{
    public static MigrationPlan Plan(MigrationInventory inventory, string vmName, string destinationName, string? network = null,
        PlanOverrides? overrides = null)
    {
        var vm = inventory.Vm(vmName);
        var source = inventory.Host(vm.Host);
        var destination = inventory.Host(destinationName);
        if (source == destination)
            throw new MigrationException("SameHost", FailureKind.InvalidInput,
                $"VM '{vm.Name}' is already on {source.Name}; choose another destination", destinationName);
        if (destination.MaintenanceAt is { } maintenance)
            throw new PlanningException("DestinationInMaintenance",
                $"{destination.Name} is in maintenance ({maintenance}: maintenance: true): it takes no VMs until that is cleared; choose another destination",
                destination.Name);

        var policy = inventory.VmPolicy(vm.Name);
        if (overrides is not null) policy = overrides.Apply(policy);
        var choice = NetworkSelector.Select(inventory, source, destination, NetworkRequest.For(network, policy));
        var failover = FailoverPaths.Decide(choice, policy, vm);
        var reasons = new List<string>(choice.Reasons);
        var warnings = new List<string>(choice.Warnings);
        warnings.AddRange(failover.Warnings);

        var (candidates, notStriped) = StripePlan.Candidates(choice, failover, policy);
        var decision = ConnectionPlanner.Decide(policy, vm, source, destination, Capped(candidates.Sum(p => p.BandwidthGbps), policy), candidates.Count);
        var (stripe, striped) = StripePlan.Share(candidates, decision.Parallel ? decision.Connections : 1, policy);
        var bandwidth = stripe.Count > 0 ? stripe.Sum(s => s.Path.BandwidthGbps) : choice.BandwidthGbps;
        if (Capped(bandwidth, policy) < bandwidth)
        {
            bandwidth = Capped(bandwidth, policy);
            reasons.Add($"Capped at {InterfaceBandwidth.Gbps(bandwidth)} by bandwidthGbps (from {policy.Sources[PolicyKeys.BandwidthGbps]}).");
        }
        reasons.AddRange(failover.Reasons);
        if (source.Cluster != destination.Cluster)
            warnings.Add($"{destination.Name} is in cluster '{destination.Cluster}', {source.Name} in '{source.Cluster}'; the VM keeps its own cluster's policy.");

        reasons.AddRange(decision.Reasons);
        warnings.AddRange(decision.Warnings);
        if ((notStriped ?? striped) is { } stripeReason) reasons.Add(stripeReason);
        if (decision.Connections == 1 && (InterfaceBandwidth.Aggregates(choice.Source.Interface) || InterfaceBandwidth.Aggregates(choice.Destination.Interface)))
            reasons.Add("One connection over a bond that spreads connections across its members uses one member only.");
        if (policy.AutoConverge)
            reasons.Add($"autoConverge (from {policy.Sources[PolicyKeys.AutoConverge]}): while the guest dirties memory faster than it moves, QEMU throttles its vCPUs " +
                        "(20% at first, 10% more each pass, up to 99%).");
        if (policy.TimeoutAction != TimeoutAction.Cancel || policy.CompletionTimeoutPerGiB is not null || policy.ProgressTimeout is not null)
            reasons.Add($"If it has not converged {(policy.CompletionTimeoutPerGiB is { } perGiB ? $"within {perGiB} s per GiB of RAM" : "by the timeout")}" +
                        (policy.ProgressTimeout is { } stall ? $" (or the remaining bytes have not fallen for {stall} s)" : "") + ": " +
                        policy.TimeoutAction switch
                        {
                            TimeoutAction.Postcopy => "switch to post-copy (the VM runs at the destination at once; the source can no longer resume it)",
                            TimeoutAction.Pause => "pause the guest at the source and finish (a longer downtime)",
                            _ => "cancel (the VM runs on at the source)",
                        } + $" (timeoutAction from {policy.Sources[PolicyKeys.TimeoutAction]}).");
        if (policy.Sources[PolicyKeys.LinkLossToleranceSeconds] != PolicySource.Default)
            reasons.Add($"linkLossToleranceSeconds {policy.LinkLossToleranceSeconds} (from {policy.Sources[PolicyKeys.LinkLossToleranceSeconds]}): " +
                        $"without a working path to {destination.Name} for longer, the migration gives up (after a switch to post-copy, " +
                        "the stream is recovered for at most that long).");
        if (policy.Storage == StorageMode.Copy)
            reasons.Add($"storage: copy (from {policy.Sources[PolicyKeys.Storage]}): the VM's writable local disks are copied to {destination.Name} before its memory.");

        return new MigrationPlan
        {
            Vm = vm.Name,
            SourceHost = source.Name,
            DestinationHost = destination.Name,
            Network = choice.Network.Name,
            SourceInterface = choice.Source.Interface.Name,
            SourceAddress = choice.Source.Address,
            DestinationInterface = choice.Destination.Interface.Name,
            DestinationAddress = choice.Destination.Address,
            Failover = failover.Paths,
            Stripe = stripe,
            DestinationPort = destination.AgentPort,
            BandwidthGbps = bandwidth,
            BandwidthCapGbps = policy.BandwidthGbps,
            Parallel = decision.Parallel,
            ParallelMode = policy.Parallel,
            Connections = decision.Connections,
            Compression = decision.Compression,
            Postcopy = decision.Postcopy,
            Transport = policy.Transport,
            Encryption = policy.Encryption,
            Storage = policy.Storage,
            MaxDowntimeMs = policy.MaxDowntimeMs,
            MaxConcurrentOutgoing = decision.MaxConcurrentOutgoing,
            MaxConcurrentIncoming = destination.Cluster is { } cluster ? inventory.ClusterPolicy(cluster).MaxConcurrentIncoming : null,
            AutoConverge = policy.AutoConverge,
            TimeoutAction = policy.TimeoutAction,
            CompletionTimeoutPerGiB = policy.CompletionTimeoutPerGiB,
            ProgressTimeoutSeconds = policy.ProgressTimeout,
            LinkLossToleranceSeconds = policy.LinkLossToleranceSeconds,
            Warnings = warnings,
            Reasons = reasons,
            Rejected = choice.Rejected.ToTextList(),
            InventoryPath = inventory.Path,
        };
    }

    /// <summary>The policy's bandwidthGbps cap applied to <paramref name="gbps"/>.</summary>
    private static double Capped(double gbps, EffectivePolicy policy) => policy.BandwidthGbps is { } cap && cap < gbps ? cap : gbps;
}
