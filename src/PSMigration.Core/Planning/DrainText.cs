namespace PSMigration.Core.Planning;

/// <summary>A drain plan for people: each move in order with its destination and times, then what cannot move, then why.</summary>
public static class DrainText
{
    public static void Write(DrainPlan drain, TextWriter writer)
    {
        writer.WriteLine($"drain of {drain.Host}: {drain.Plans.Count} move(s), predicted {drain.PredictedSeconds:0.#} s" +
                         (drain.Unplaced.Count > 0 ? $"; {drain.Unplaced.Count} VM(s) cannot move" : ""));
        foreach (var plan in drain.Plans)
            writer.WriteLine($"  {plan.Order,2}. {plan.Vm} -> {plan.DestinationHost} over '{plan.Network}' ({InterfaceBandwidth.Gbps(plan.BandwidthGbps)}), " +
                             $"starts at {plan.StartsAtSeconds:0.#} s, takes {plan.PredictedSeconds:0.#} s");
        foreach (var vm in drain.Unplaced) writer.WriteLine($"  cannot move {vm}");
        writer.WriteLine("  why:");
        foreach (var reason in drain.Reasons) writer.WriteLine($"    - {reason}");
    }
}
