using PSMigration.Core.Diagnostics;

namespace PSMigration.Core.Planning;

/// <summary>A plan told as -Verbose tells it: the path and count, each decision, each network not chosen.</summary>
public static class PlanStory
{
    public static void TellPlan(this IActivityLog log, MigrationPlan plan)
    {
        log.Verbose($"Plan {plan.Vm}: {plan.SourceHost} -> {plan.DestinationHost} over '{plan.Network}' " +
                    $"({plan.SourceInterface} {plan.SourceAddress} -> {plan.DestinationInterface} {plan.DestinationAddress}), " +
                    $"{InterfaceBandwidth.Gbps(plan.BandwidthGbps)}, {plan.TransportSummary}");
        foreach (var reason in plan.Reasons) log.Verbose($"Plan {plan.Vm}: {reason}");
        foreach (var rejected in plan.Rejected) log.Verbose($"Plan {plan.Vm}: not '{rejected.Network}': {rejected.Reason}");
    }
}
